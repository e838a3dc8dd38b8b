"""Drawn trials whose spec a live trial is training already: they wait for that trial's result.

The search trains each canonical spec once. A spec drawn again after it completed is told
``COMPLETE`` at once with the earlier values (:mod:`nas.search.searcher`); one drawn while a
live trial (of this driver or another, :mod:`nas.search.heartbeat`) is training it waits here,
``RUNNING`` and owned by this driver, until that trial ends:

- ``COMPLETE``: told ``COMPLETE`` with its values (``reused_from``), as a reused trial;
- ``PRUNED``: told ``PRUNED`` (``reused_from``): the pruner judged that spec already;
- ``FAIL`` or gone (its driver died and it was queued again): it is *ready* and trains itself.

So a waiting trial counts towards the budget like a reused one, and no ``FAIL`` row is made for
a spec drawn twice. The twin is the smallest-numbered live trial of the spec, so of two drivers
that draw it at once exactly one trains it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from nas.search.ledger import INTERRUPTED, Completed, TrialEntry
from nas.search.searcher import requeue

if TYPE_CHECKING:
    import optuna

    from nas.search.drivers import SharedLedger

POLL_S = 1.0
"""Seconds between two looks at the study for the twins' results."""


class Twins:
    """This driver's waiting trials, and those ready to train (their twin ended without one)."""

    def __init__(self) -> None:
        self.waiting: list[TrialEntry] = []
        self.ready: list[TrialEntry] = []
        self._looked = 0.0

    def held(self) -> list[TrialEntry]:
        """Every trial held here: ``RUNNING`` in the study and this driver's."""
        return [*self.waiting, *self.ready]

    def wait(self, entry: TrialEntry) -> None:
        self.waiting.append(entry)

    def recent(self) -> bool:
        """Whether the study was looked at less than :data:`POLL_S` ago."""
        return time.monotonic() - self._looked < POLL_S

    def settle(self, study: optuna.Study, ledger: SharedLedger, *, now: bool = False) -> None:
        """Tell the waiting trials whose twin ended with a result; move the others to ready."""
        if not self.waiting or (self.recent() and not now):
            return
        self._looked = time.monotonic()
        for entry in list(self.waiting):
            spec_id = entry.spec.canonical_id
            if ledger.in_training(spec_id, entry.trial.number) is not None:
                continue
            self.waiting.remove(entry)
            done = ledger.trained(spec_id)
            pruned = _pruned_twin(study, spec_id, entry.trial.number)
            if done is not None:
                _tell_reused(study, entry, done)
                ledger.complete(spec_id, done, reused=True)
            elif pruned is not None:
                entry.trial.set_user_attr("reused_from", pruned)
                study.tell(entry.trial, state=TrialState.PRUNED)
                ledger.count(TrialState.PRUNED, None)
            else:
                self.ready.append(entry)

    def interrupt_all(self, study: optuna.Study, ledger: SharedLedger) -> int:
        """FAIL as interrupted and queue again every trial held here (the run is stopping)."""
        held = self.held()
        for entry in held:
            entry.trial.set_user_attr("fail_reason", INTERRUPTED)
            study.tell(entry.trial, state=TrialState.FAIL)
            ledger.count(TrialState.FAIL, None, interrupted=True)
            requeue(study, entry.trial.number, entry.trial.params, entry.trial.user_attrs)
        self.waiting, self.ready = [], []
        return len(held)


def _tell_reused(study: optuna.Study, entry: TrialEntry, done: Completed) -> None:
    entry.trial.set_user_attr("reused_from", done.number)
    for key, value in done.measured.items():
        entry.trial.set_user_attr(key, value)
    study.tell(entry.trial, done.values)


def _pruned_twin(study: optuna.Study, spec_id: str, number: int) -> int | None:
    """The number of a trained (not reused) PRUNED trial of ``spec_id`` other than ``number``."""
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    trained = (t for t in pruned if t.number != number and "reused_from" not in t.user_attrs)
    return next((t.number for t in trained if t.user_attrs.get("spec_id") == spec_id), None)
