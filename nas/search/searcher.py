"""A Ray Tune ``Searcher`` that proposes specs with Optuna's ask-and-tell, on a shared study.

Why not Ray's ``OptunaSearch``: it forces ``NopPruner`` and tells early-stopped trials as
``COMPLETE`` with a low-fidelity value, which would put pruned trials on the front. Here every
Ray trial is one Optuna trial asked from the study and ended exactly once
(:mod:`nas.search.trials`). Several ``nas search`` processes may drive one study (or one
process after another was killed), so:

- **Budget.** It stops proposing when the *study* holds ``[search] trials`` trials that count
  or are RUNNING in a live driver (:meth:`~nas.search.ledger.TrialLedger.full`), not only its
  own. It ends only when none of those is another's: a driver that dies has its trials queued
  again (first, before any new draw), and a live one takes them over.
- **Dedup.** Equivalent specs train once: a drawn spec whose canonical id already has a
  ``COMPLETE`` trial (any driver's) is told ``COMPLETE`` at once with that trial's values
  (``reused_from``), and another is drawn; one that a live RUNNING trial with a smaller number
  is training already waits for that one's result (:class:`~nas.search.ledger.Twins`). Reused
  trials count towards the trial budget, so the search ends even on a tiny space. A replica
  (a reference design queued again at another proxy seed, :func:`~nas.search.study.queue_replicas`)
  is neither: it trains at its own seed, and nothing is told with its result.
- **Ownership.** :attr:`StudySearcher.heartbeat` is the Tune callback that owns and beats for
  this driver's trials (:class:`~nas.search.ownership.DriverHeartbeat`).
- **Resume.** Every trial config carries ``resume_dir``: ``<artifacts>/resume/<study>/<spec
  id>``, where the trainable keeps its newest epoch (:func:`workers.state.save_resumable`). A
  trial interrupted (the driver stopped or was killed) keeps it, and its requeued copy, the same
  spec, resumes there at the next epoch; any other end of the trial removes it.
- **Lost workers.** A trial whose Ray worker dies or raises is started again by Tune from its
  last epoch checkpoint, as the same trial, up to ``[resources] max_retries`` times
  (:mod:`nas.search.tuner`); only then is it told ``FAIL`` with the reason.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from ray.tune.search import Searcher

import nas.search.trials as trials
from nas.objectives import ALWAYS, MeasureFailed, measure
from nas.resources import GpuShare
from nas.sampling.view import SamplerView
from nas.search.ledger import POLL_S, TrialLedger
from nas.search.ownership import OWNER_ATTR, DriverHeartbeat, Ownership
from nas.search.study import StudyHandle
from nas.search.trials import INTERRUPTED, Completed, SamplerError, TrialEntry
from nas.space import SearchSpace
from storage.internals import trial_id as optuna_trial_id
from workers.signals import signal_key
from workers.trainable import RESUME_KEY

MAX_DRAWS = 50
"""Draws per ``suggest`` call before giving Tune a turn (reused specs are told at once)."""

_log = logging.getLogger(__name__)


class StudySearcher(Searcher):
    """Proposes Ray trial configs ``{"spec", "data", "budget", "resume_dir"}`` from a study.

    Pickles without the study (:class:`~nas.search.study.StudyHandle` reopens it); its
    :class:`~nas.search.ledger.TrialLedger` is shared with the scheduler and progress line.

    Args:
        handle: the multi-objective study (directions ``[maximize, minimize, ...]``) and the
            config whose ``[objectives]`` say what a trial is scored by and measured on.
        space: the define-by-run space.
        data, budget: the ``data`` and ``budget`` dicts every trial config carries.
        target: stop proposing once the study holds this many finished trials.
        artifacts: where to upload ``model.pt`` of completed trials (``None``: not kept, and
            no ``resume_dir``).
        gpu_share: under ``gpus_per_trial = "auto"``, each trial's GPU fraction (in its config).
    """

    def __init__(
        self,
        handle: StudyHandle,
        space: SearchSpace,
        *,
        data: Mapping[str, Any],
        budget: Mapping[str, Any],
        target: int,
        artifacts: Any,
        gpu_share: GpuShare | None = None,
    ) -> None:
        super().__init__(metric=None, mode=None)
        self.handle, self.space, self.target = handle, space, target
        self.data, self.budget = dict(data), dict(budget)
        self.signal = signal_key(handle.config.objectives.signal)
        self.measures = handle.config.objectives.vector.measured
        self.artifacts, self.gpu_share = artifacts, gpu_share
        self.ownership = Ownership(handle.url, handle.config.search.study)
        keys = (*ALWAYS, *self.measures)
        self.ledger = TrialLedger.of_study(handle.study, self.ownership, keys)
        self.heartbeat = DriverHeartbeat(self.ledger.in_hand, self.ownership)
        search = handle.config.search
        self.resume_root = (
            trials.resume_root(handle.url, search.artifacts, search.study)
            if artifacts is not None
            else None
        )
        self._idle_until = 0.0  # the budget was full while others' trials ran: look again then

    @property
    def study(self) -> optuna.Study:
        return self.handle.study

    @property
    def sampler_name(self) -> str:
        return self.handle.config.search.sampler

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.gpu_share is not None and self.gpu_share.hold(len(self.ledger.flying)):
            return None  # the first trial measures how many share a card
        twins = self.ledger.twins
        twins.settle(self.study, self.ledger)
        if twins.ready:  # its twin ended without a result: it trains itself
            return self._start(trial_id, twins.ready.pop(0))
        if time.monotonic() < self._idle_until:
            return None  # Tune asks often while this driver waits for others' trials to end
        for _ in range(MAX_DRAWS):
            entry = self._ask_untrained()
            if entry == Searcher.FINISHED and self.ledger.others_running():
                self._idle_until = time.monotonic() + POLL_S
                return None  # not FINISHED: Tune asks again, and the budget may open again
            if not isinstance(entry, TrialEntry):
                return entry  # type: ignore[return-value]
            twin = self.ledger.in_training(entry.spec.canonical_id, entry.trial.number)
            if twin is None or entry.seed is not None:
                return self._start(trial_id, entry)
            twins.wait(entry)
        return None

    def _ask_untrained(self) -> TrialEntry | str | None:
        """A drawn spec to train, ``Searcher.FINISHED`` at the budget, or ``None`` when every
        draw of this call was told at once (reused, invalid, unmeasurable)."""
        for _ in range(MAX_DRAWS):
            if self.ledger.full(self.target):
                return Searcher.FINISHED
            asked: int | None = None
            view = self.study.sampler if isinstance(self.study.sampler, SamplerView) else None
            if view is not None:
                view.asked = None
            try:
                trial = self.study.ask()
                asked = optuna_trial_id(trial)
                # Owned before anything slow (sampling, costing, Tune's step): another driver
                # takes a trial it sees unowned past ownership.SETTLE_S for a dead driver's.
                self.ownership.own([asked])
                if self.ledger.over_budget(trial.number, self.target):
                    trials.give_up(self.study, asked)
                    return Searcher.FINISHED
                entry = self._draw(trial)
            except Exception as exc:
                if view is None:  # a plugin's sampler: its trial's id only if ask returned
                    self._abandon(asked)
                elif view.asked is not None:  # None: ask raised before making a trial
                    self._abandon(view.asked)  # the trial ask made, returned or not
                raise SamplerError(self.sampler_name, exc) from exc
            if entry is not None:
                return entry
        return None

    def _start(self, trial_id: str, entry: TrialEntry) -> dict[str, Any]:
        self.ledger.start(trial_id, entry)
        budget = self._budget(entry.seed)
        config = {"spec": entry.spec.to_dict(), "data": self.data, "budget": budget}
        if self.gpu_share is not None:  # its GPU fraction, under gpus_per_trial = "auto"
            config.update(self.gpu_share.trial_config())
        if self.resume_root is None:
            return config
        return {**config, RESUME_KEY: str(self.resume_root / entry.resume_key)}

    def _budget(self, seed: int | None) -> dict[str, Any]:
        """The proxy budget a trial trains at: a replica's has its own ``seed``."""
        return self.budget if seed is None else {**self.budget, "seed": seed}

    def _abandon(self, asked: int | None) -> None:
        """FAIL as interrupted the trial a raising ``ask``/draw left RUNNING: id ``asked`` (our
        :class:`SamplerView` names it even when ``ask`` raised), else (a plugin's sampler) every
        unowned one, never by ``datetime_start`` (another machine's clock). One from the
        queue is queued again."""
        if asked is not None:
            ids = [asked]
        else:
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            ids = [optuna_trial_id(t) for t in running if OWNER_ATTR not in t.system_attrs]
        for tid in ids:
            if trials.give_up(self.study, tid, INTERRUPTED):
                self.ledger.count(TrialState.FAIL, None, interrupted=True)

    def _draw(self, trial: optuna.trial.Trial) -> TrialEntry | None:
        """Sample, dedup and cost ``trial``; ``None`` when it was told at once instead."""
        try:
            spec = self.space.sample(trial)
        except ValueError as exc:
            self._tell_fail(trial, f"invalid spec: {exc}")
            return None
        seed = trials.replica_seed(trial)
        trials.set_spec(trial, spec, self._budget(seed))
        previous = None if seed is not None else self.ledger.trained(spec.canonical_id)
        if previous is not None:
            trials.tell_reused(self.study, trial, previous)
            self.ledger.complete(spec.canonical_id, previous, reused=True)
            return None
        try:
            measured = measure(spec, self.measures)
        except MeasureFailed as exc:  # a broken block must not stop the search
            self._tell_fail(trial, str(exc))
            return None
        for name, value in _as_attrs(measured).items():
            trial.set_user_attr(name, value)
        return TrialEntry(trial, spec, measured, seed=seed)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        entry = self.ledger.finish(trial_id)
        if self.gpu_share is not None and result:
            self.gpu_share.observe(result)
        if entry is not None:
            try:
                ended = self._end(entry, result or {}, error)
            except UpdateFinishedTrialError:
                ended = False
            if not ended:
                # Another driver took it over (this one was silent past the grace period, e.g.
                # the database away that long) and queued it again: its copy trains it.
                _log.warning("nas search: trial %s was taken over by another driver", trial_id)
                return
        self.ledger.twins.settle(self.study, self.ledger, now=True)
        if entry is None or self.resume_root is None:
            return
        if trials.fail_reason(self.study, entry.trial) != INTERRUPTED:
            shutil.rmtree(self.resume_root / entry.resume_key, ignore_errors=True)

    def _end(self, entry: TrialEntry, result: Mapping[str, Any], error: bool) -> bool:
        """Tell how the trial in flight ended; ``False`` if another driver ended it first."""
        trial = entry.trial
        if result.get("node_id"):  # workers.trainable: the Ray node the trial trained on
            trial.set_user_attr("node_id", str(result["node_id"]))
        # the last epoch's signal: a ``done`` report never reaches the scheduler
        trials.record_epoch(self.study, optuna_trial_id(trial), result, self.signal)
        if error or result.get("error") or entry.error:
            reason = (
                result.get("error")
                or entry.error
                or entry.lost
                or "the trial's Ray worker died or raised"
            )
            self._tell_fail(trial, str(reason))
        elif entry.pruned:
            trials.store_run(trial, result)
            self.study.tell(trial, state=TrialState.PRUNED)
            self.ledger.count(TrialState.PRUNED, None)
        elif not result.get("done") or self.signal not in result:
            if not trials.fail_and_requeue(self.study, trial, trial.params):
                return False
            self.ledger.count(TrialState.FAIL, None, interrupted=True)
        else:
            self._complete(entry, result)
        return True

    def interrupt_all(self) -> int:
        """Fail and queue again every trial in flight or held, then stop beating: the run is
        stopping."""
        try:
            stopped = list(self.ledger.flying)
            for trial_id in stopped:
                self.on_trial_complete(trial_id, {})
            return len(stopped) + self.ledger.twins.interrupt_all(self.study, self.ledger)
        finally:
            self.heartbeat.stop()

    def _complete(self, entry: TrialEntry, result: Mapping[str, Any]) -> None:
        score = float(result[self.signal])
        if not math.isfinite(score):
            self._tell_fail(entry.trial, f"{self.signal} is {score}")
            return
        trials.store_run(entry.trial, result)
        trials.upload_checkpoint(self.study, entry, self.artifacts)
        values = self.handle.config.objectives.vector.values(score, entry.measured)
        self.study.tell(entry.trial, values)
        done = Completed(entry.trial.number, values, _as_attrs(entry.measured))
        self.ledger.complete(entry.spec.canonical_id, done, replica=entry.seed is not None)

    def _tell_fail(self, trial: optuna.trial.Trial, reason: str) -> None:
        trials.tell_fail(self.study, trial, reason)
        self.ledger.count(TrialState.FAIL, None)


def _as_attrs(measured: Mapping[str, float]) -> dict[str, Any]:
    """Measured objectives as trial user attributes: MACs and parameters as integers."""
    return {k: int(v) if k in ALWAYS else v for k, v in measured.items()}
