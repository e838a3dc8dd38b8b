"""``TrialLedger``: the one record of a search's trials, read from the study it shares.

The searcher (:class:`nas.search.searcher.StudySearcher`) writes it: which Ray trial is which
Optuna trial and spec, what finished how, which canonical specs are already trained, which
drawn trials wait for a twin. The scheduler (:class:`nas.search.scheduler.PruningScheduler`)
reads the trials in flight and marks them pruned, failed or checkpointed; the progress line
(:class:`nas.search.progress.ProgressLine`) reads the counts. All three hold the same ledger
object, in the driver.

Several ``nas search`` processes may share one study (``docs/cluster.md``), so the budget and
the trained specs are read from the whole study, not only from this driver's trials: the
budget counts every ended trial that counts (:func:`counts`) and every RUNNING trial of a live
driver (:class:`~nas.search.ownership.Ownership`); a spec another driver trained is reused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from nas.results.replicas import is_replica
from nas.search.ownership import GRACE_PERIOD_S, Ownership
from nas.search.trials import (
    UNCOUNTED,
    Completed,
    TrialEntry,
    fail_and_requeue,
    tell_reused,
)
from storage.internals import trial_id

POLL_S = 1.0
"""Seconds between two looks at the study for the twins' results."""
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
"""States of ended trials; all count towards the budget but interrupted FAILs."""


def finished_count(study: optuna.Study) -> int:
    """Trials towards the budget: every ended trial but those failed as interrupted (their
    parameters are queued again) or given up over budget."""
    ended = study.get_trials(deepcopy=False, states=FINISHED_STATES)
    return sum(1 for t in ended if counts_to_budget(t))


def counts_to_budget(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether the ended ``trial`` counts towards the trial budget."""
    return trial.user_attrs.get("fail_reason") not in UNCOUNTED


@dataclass
class Tally:
    """Counts for the progress line; ``values`` holds the objective values of COMPLETE trials.

    ``finished`` is what the trial budget counts: trials failed as interrupted are not in it,
    because their parameters are queued again and will finish as another trial.
    """

    complete: int = 0
    pruned: int = 0
    failed: int = 0
    reused: int = 0
    running: int = 0
    interrupted: int = 0
    values: list[list[float]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.complete + self.pruned + self.failed


class TrialLedger:
    """Trials in flight by Ray trial id, the counts, the completed specs by canonical id, and
    the drawn trials waiting for a twin (:class:`Twins`).

    ``ownership`` tells live RUNNING trials from orphans; ``measured_keys`` are the user
    attributes a reused trial copies. Pickles without the trials in flight or waiting (Tune
    checkpoints its searcher and scheduler): they are RUNNING in the study, and the next
    ``nas search`` fails and queues them again.
    """

    def __init__(self, ownership: Ownership, measured_keys: tuple[str, ...]) -> None:
        self.ownership, self.measured_keys = ownership, measured_keys
        self.flying: dict[str, TrialEntry] = {}
        self.tally = Tally()
        self.completed: dict[str, Completed] = {}
        self.twins = Twins()

    @classmethod
    def of_study(
        cls, study: optuna.Study, ownership: Ownership, measured_keys: tuple[str, ...]
    ) -> TrialLedger:
        """A ledger holding what ``study`` already has (a resumed search)."""
        ledger = cls(ownership, measured_keys)
        for t in study.get_trials(deepcopy=False):
            uncounted = t.state.is_finished() and not counts_to_budget(t)
            ledger.count(t.state, t.values, interrupted=uncounted)
            spec_id = t.user_attrs.get("spec_id")
            if t.state == TrialState.COMPLETE and spec_id is not None and not is_replica(t):
                ledger.completed.setdefault(spec_id, ledger._completed(t))
        return ledger

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "flying": {}, "twins": Twins()}

    def start(self, ray_id: str, entry: TrialEntry) -> None:
        self.flying[ray_id] = entry
        self.tally.running = len(self.flying)

    def entry(self, ray_id: str) -> TrialEntry | None:
        """The trial in flight as ``ray_id`` (``None``: not this search's, or finished)."""
        return self.flying.get(ray_id)

    def finish(self, ray_id: str) -> TrialEntry | None:
        """Take ``ray_id`` out of flight; its entry, or ``None`` if it was not in flight."""
        entry = self.flying.pop(ray_id, None)
        self.tally.running = len(self.flying)
        return entry

    def held(self) -> list[TrialEntry]:
        """This driver's trials waiting for a twin (RUNNING, not in flight in Tune)."""
        return self.twins.held()

    def in_hand(self) -> frozenset[int]:
        """Optuna trial ids of this driver's RUNNING trials: in flight in Tune or held here
        waiting for a twin."""
        return frozenset(trial_id(e.trial) for e in [*self.flying.values(), *self.held()])

    def full(self, target: int) -> bool:
        """Whether ended and live RUNNING trials reach ``target``; a dead driver's trials are
        queued again first, so that the next ``ask`` takes their copies, not a new draw."""
        live = self.ownership.take_over(self.in_hand())
        return finished_count(self.ownership.study) + len(live) >= target

    def over_budget(self, number: int, target: int) -> bool:
        """Whether trial ``number``, just asked, lies past ``target``: the ended trials that
        count and the live RUNNING ones asked before it already reach it. :meth:`full` is
        checked before asking, so two drivers can both find one place left; the trial asked
        second sees the first one RUNNING and gives up. Orphans were queued again by the
        :meth:`full` just before, so this only reads the live trials."""
        live = self.ownership.running(unowned_after=GRACE_PERIOD_S, mine=self.in_hand())[0]
        before = [t for t in live if t.number < number]
        return finished_count(self.ownership.study) + len(before) >= target

    def others_running(self) -> bool:
        """Whether RUNNING trials not in flight here are live: another driver's (queued again
        here should that driver die) or this driver's waiting for a twin. While any is, a full
        budget may open again."""
        flying = {trial_id(e.trial) for e in self.flying.values()}
        return any(trial_id(t) not in flying for t in self.ownership.take_over(self.in_hand()))

    def trained(self, spec_id: str) -> Completed | None:
        """The completed trial of this canonical spec, if one exists (any driver's)."""
        if spec_id not in self.completed:
            for t in self.ownership.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                known = t.user_attrs.get("spec_id")
                if known is not None and known not in self.completed and not is_replica(t):
                    self.completed[known] = self._completed(t)
        return self.completed.get(spec_id)

    def in_training(self, spec_id: str, number: int) -> int | None:
        """The smallest-numbered live RUNNING trial before ``number`` training ``spec_id``."""
        earlier = [
            t.number
            for t in self.ownership.running()[0]
            if t.number < number and t.user_attrs.get("spec_id") == spec_id and not is_replica(t)
        ]
        return min(earlier, default=None)

    def complete(
        self, spec_id: str, done: Completed, *, reused: bool = False, replica: bool = False
    ) -> None:
        """Count a COMPLETE trial; remember the first one of each spec for reuse (a replica's
        result, at another seed, is never reused)."""
        if not replica:
            self.completed.setdefault(spec_id, done)
        self.tally.reused += int(reused)
        self.count(TrialState.COMPLETE, done.values)

    def count(
        self, state: TrialState, values: list[float] | None, *, interrupted: bool = False
    ) -> None:
        if state == TrialState.COMPLETE:
            self.tally.complete += 1
            self.tally.values.append(list(values or []))
        elif state == TrialState.PRUNED:
            self.tally.pruned += 1
        elif state == TrialState.FAIL and interrupted:
            self.tally.interrupted += 1
        elif state == TrialState.FAIL:
            self.tally.failed += 1

    def _completed(self, t: optuna.trial.FrozenTrial) -> Completed:
        known = {k: t.user_attrs[k] for k in self.measured_keys if k in t.user_attrs}
        return Completed(t.number, list(t.values), known)


class Twins:
    """Drawn trials whose spec a live trial is training already: they wait for its result.

    The search trains each canonical spec once. A spec drawn again after it completed is told
    ``COMPLETE`` at once with the earlier values; one drawn while a live trial (of this driver
    or another) is training it waits here, ``RUNNING`` and owned by this driver, until that
    trial ends: ``COMPLETE``, it is told ``COMPLETE`` with its values (``reused_from``);
    ``PRUNED``, it is told ``PRUNED`` (``reused_from``: the pruner judged that spec already);
    ``FAIL`` or gone (its driver died and it was queued again), it is *ready* and trains itself.

    So a waiting trial counts towards the budget like a reused one, and no ``FAIL`` row is made
    for a spec drawn twice. The twin is the smallest-numbered live trial of the spec, so of two
    drivers that draw it at once exactly one trains it.
    """

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

    def settle(self, study: optuna.Study, ledger: TrialLedger, *, now: bool = False) -> None:
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
                tell_reused(study, entry.trial, done)
                ledger.complete(spec_id, done, reused=True)
            elif pruned is not None:
                entry.trial.set_user_attr("reused_from", pruned)
                study.tell(entry.trial, state=TrialState.PRUNED)
                ledger.count(TrialState.PRUNED, None)
            else:
                self.ready.append(entry)

    def interrupt_all(self, study: optuna.Study, ledger: TrialLedger) -> int:
        """FAIL as interrupted and queue again every trial held here (the run is stopping)."""
        held = self.held()
        for entry in held:
            if fail_and_requeue(study, entry.trial, entry.trial.params):
                ledger.count(TrialState.FAIL, None, interrupted=True)
        self.waiting, self.ready = [], []
        return len(held)


def _pruned_twin(study: optuna.Study, spec_id: str, number: int) -> int | None:
    """The number of a trained (not reused) PRUNED trial of ``spec_id`` other than ``number``."""
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    trained = (
        t
        for t in pruned
        if t.number != number and "reused_from" not in t.user_attrs and not is_replica(t)
    )
    return next((t.number for t in trained if t.user_attrs.get("spec_id") == spec_id), None)
