"""Several drivers on one study: a shared trial budget, no spec trained twice, trials resumed.

:class:`SharedStudySearcher` is :class:`~nas.search.searcher.StudySearcher` with what several
``nas search`` processes on one study (or one process after another was killed) need:

- **Budget.** It stops proposing when the *study* holds ``[search] trials`` trials that count
  (:func:`nas.search.study.counts`) or are RUNNING in a live driver
  (:class:`~nas.search.heartbeat.Ownership`), not only its own. It ends only when none of those
  is another's: a driver that dies has its trials queued again (first, before any new draw),
  and a live one takes them over.
- **Dedup.** A spec some other driver completed is reused as the searcher reuses its own; a
  drawn spec that a live RUNNING trial with a smaller number is training already is not
  trained again: the drawn trial waits for that one's result (:mod:`nas.search.twins`) and
  another spec is drawn.
- **Ownership.** :attr:`SharedStudySearcher.heartbeat` is the Tune callback that owns and
  beats for this driver's trials (:class:`~nas.search.heartbeat.DriverHeartbeat`).
- **Resume.** Every trial config carries ``resume_dir``: ``<artifacts>/resume/<study>/<spec
  id>``, where the trainable keeps its newest epoch (:func:`workers.state.save_resumable`). A
  trial interrupted (the driver stopped or was killed) keeps it, and its requeued copy, the same
  spec, resumes there at the next epoch; any other end of the trial removes it.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from ray.tune.search import Searcher

from nas.objectives import ALWAYS
from nas.search.heartbeat import DriverHeartbeat, Ownership
from nas.search.ledger import INTERRUPTED, Completed, TrialEntry, TrialLedger
from nas.search.searcher import MAX_DRAWS, StudySearcher
from nas.search.study import finished_count
from nas.search.twins import POLL_S, Twins
from storage.internals import storage_of, trial_id
from workers.trainable import RESUME_KEY

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import optuna

    from nas.search.handle import StudyHandle
    from nas.space import SearchSpace


class SharedLedger(TrialLedger):
    """A :class:`TrialLedger` whose budget and trained specs are read from the whole study.

    ``ownership`` tells live RUNNING trials from orphans; ``measured_keys`` are the user
    attributes a reused trial copies.
    """

    ownership: Ownership
    measured_keys: tuple[str, ...] = ()
    twins: Twins

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "twins": Twins()}

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

    def others_running(self) -> bool:
        """Whether RUNNING trials not in flight here are live: another driver's (queued again
        here should that driver die) or this driver's waiting for a twin. While any is, a full
        budget may open again."""
        flying = {trial_id(e.trial) for e in self.flying.values()}
        return any(trial_id(t) not in flying for t in self.ownership.take_over(self.in_hand()))

    def trained(self, spec_id: str) -> Completed | None:
        if spec_id not in self.completed:
            self._learn_completed()
        return self.completed.get(spec_id)

    def in_training(self, spec_id: str, number: int) -> int | None:
        """The smallest-numbered live RUNNING trial before ``number`` training ``spec_id``."""
        earlier = [
            t.number
            for t in self.ownership.running()[0]
            if t.number < number and t.user_attrs.get("spec_id") == spec_id
        ]
        return min(earlier, default=None)

    def _learn_completed(self) -> None:
        """Add the COMPLETE trials other drivers finished since this ledger was made."""
        study = self.ownership.study
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            spec_id = t.user_attrs.get("spec_id")
            if spec_id is not None and spec_id not in self.completed:
                known = {k: t.user_attrs[k] for k in self.measured_keys if k in t.user_attrs}
                self.completed[spec_id] = Completed(t.number, list(t.values), known)


class SharedStudySearcher(StudySearcher):
    """:class:`StudySearcher` sharing its study with other drivers (module docstring)."""

    def __init__(self, handle: StudyHandle, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(handle, space, **kwargs)
        self.ownership = Ownership(handle.url, handle.config.search.study)
        keys = (*ALWAYS, *self.measures)
        ledger = SharedLedger.of_study(handle.study, keys)
        assert isinstance(ledger, SharedLedger), "of_study builds the class it is called on"
        ledger.ownership, ledger.measured_keys, ledger.twins = self.ownership, keys, Twins()
        self.ledger: SharedLedger = ledger
        self.heartbeat = DriverHeartbeat(self.ledger, self.ownership)
        self.resume_root = resume_root(handle) if self.artifacts is not None else None
        self._idle_until = 0.0  # the budget was full while others' trials ran: look again then

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        twins = self.ledger.twins
        twins.settle(self.study, self.ledger)
        if twins.ready:
            return self._start(trial_id, twins.ready.pop(0))
        if time.monotonic() < self._idle_until:
            return None  # Tune asks often while this driver waits for others' trials to end
        for _ in range(MAX_DRAWS):
            config = super().suggest(trial_id)
            if config == Searcher.FINISHED and self.ledger.others_running():
                self._idle_until = time.monotonic() + POLL_S
                return None  # not FINISHED: Tune asks again, and the budget may open again
            if not isinstance(config, dict):
                return config
            entry = self.ledger.entry(trial_id)
            assert entry is not None, "StudySearcher.suggest starts the trial it proposes"
            if self.ledger.in_training(entry.spec.canonical_id, entry.trial.number) is None:
                return self._with_resume_dir(config, entry.spec.canonical_id)
            self.ledger.finish(trial_id)
            twins.wait(entry)
        return None

    def _start(self, trial_id: str, entry: TrialEntry) -> dict[str, Any]:
        """Give Tune a held trial whose twin ended without a result: it trains itself."""
        self.ledger.start(trial_id, entry)
        config = {"spec": entry.spec.to_dict(), "data": self.data, "budget": self.budget}
        return self._with_resume_dir(config, entry.spec.canonical_id)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        entry = self.ledger.entry(trial_id)
        try:
            super().on_trial_complete(trial_id, result, error)
        except UpdateFinishedTrialError:
            # Another driver took it over (this one was silent past the grace period, e.g. the
            # database away that long) and queued it again: its copy trains it, ours is void.
            _log.warning("nas search: trial %s was taken over by another driver", trial_id)
            return
        self.ledger.twins.settle(self.study, self.ledger, now=True)
        if entry is None or self.resume_root is None:
            return
        if _fail_reason(self.study, entry.trial) != INTERRUPTED:
            shutil.rmtree(self.resume_root / entry.spec.canonical_id, ignore_errors=True)

    def interrupt_all(self) -> int:
        """As :meth:`StudySearcher.interrupt_all`, then stop beating: the run is over."""
        try:
            return super().interrupt_all() + self.ledger.twins.interrupt_all(
                self.study, self.ledger
            )
        finally:
            self.heartbeat.stop()

    def _with_resume_dir(self, config: dict[str, Any], spec_id: str) -> dict[str, Any]:
        if self.resume_root is None:
            return config
        return {**config, RESUME_KEY: str(self.resume_root / spec_id)}


def resume_root(handle: StudyHandle) -> Path:
    """``<artifacts>/resume/<study>``: beside the trained weights, so it outlives the driver
    and every node that can upload weights can reach it."""
    from storage import artifacts_dir_for

    base = artifacts_dir_for(handle.url, handle.config.search.artifacts)
    return base / "resume" / handle.config.search.study


def _fail_reason(study: optuna.Study, trial: optuna.trial.Trial) -> str | None:
    reason = storage_of(study).get_trial(trial_id(trial)).user_attrs.get("fail_reason")
    return str(reason) if reason is not None else None
