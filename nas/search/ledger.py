"""``TrialLedger``: the one record of a search's trials that its Ray-side parts share.

The searcher (:class:`nas.search.searcher.StudySearcher`) writes it: which Ray trial is which
Optuna trial and spec, what finished how, which canonical specs are already trained. The
scheduler (:class:`nas.search.scheduler.PruningScheduler`) reads the trials in flight and
marks them pruned, failed or checkpointed; the progress line (:class:`nas.search.progress.
ProgressLine`) reads the counts. All three hold the same ledger object, in the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from searchspace.spec import ArchSpec

INTERRUPTED = "interrupted: the search process stopped"
"""The ``fail_reason`` of a trial the search stopped before it finished (its spec is queued
again, so it does not count towards the trial budget)."""


@dataclass
class TrialEntry:
    """One Ray trial in flight: its Optuna trial, its spec, its measured objectives, and what
    the scheduler saw (``pruned``, an ``error`` line, the last ``checkpoint_dir``)."""

    trial: optuna.trial.Trial
    spec: ArchSpec
    measured: dict[str, float]
    pruned: bool = False
    error: str | None = None
    checkpoint_dir: str | None = None


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


@dataclass(frozen=True)
class Completed:
    """A trained canonical spec: its trial ``number``, objective ``values`` and the measured
    user attributes a later trial of the same spec copies (``reused_from``)."""

    number: int
    values: list[float]
    measured: dict[str, Any]


class TrialLedger:
    """Trials in flight by Ray trial id, the counts, and the completed specs by canonical id.

    Pickles without the trials in flight (Tune checkpoints its searcher and scheduler): they
    are RUNNING in the study, and the next ``nas search`` fails and queues them again.
    """

    def __init__(self) -> None:
        self.flying: dict[str, TrialEntry] = {}
        self.tally = Tally()
        self.completed: dict[str, Completed] = {}

    @classmethod
    def of_study(cls, study: optuna.Study, measured_keys: tuple[str, ...]) -> TrialLedger:
        """A ledger holding what ``study`` already has (a resumed search)."""
        ledger = cls()
        for t in study.get_trials(deepcopy=False):
            interrupted = t.user_attrs.get("fail_reason") == INTERRUPTED
            ledger.count(t.state, t.values, interrupted=interrupted)
            spec_id = t.user_attrs.get("spec_id")
            if t.state == TrialState.COMPLETE and spec_id is not None:
                known = {k: t.user_attrs[k] for k in measured_keys if k in t.user_attrs}
                ledger.completed.setdefault(spec_id, Completed(t.number, list(t.values), known))
        return ledger

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "flying": {}}

    def full(self, target: int) -> bool:
        """Whether finished plus in-flight trials reach the budget ``target``."""
        return self.tally.finished + len(self.flying) >= target

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

    def trained(self, spec_id: str) -> Completed | None:
        """The completed trial of this canonical spec, if one exists."""
        return self.completed.get(spec_id)

    def complete(self, spec_id: str, done: Completed, *, reused: bool = False) -> None:
        """Count a COMPLETE trial; remember the first one of each spec for reuse."""
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
