"""A Ray Tune ``Searcher`` that proposes specs with Optuna's ask-and-tell, on our own study.

Why not Ray's ``OptunaSearch``: it forces ``NopPruner`` and tells early-stopped trials as
``COMPLETE`` with a low-fidelity value, which would put pruned trials on the front. Here every
Ray trial is one Optuna trial asked from the study and told exactly once:

- ``COMPLETE`` with ``[signal, macs, *extra]`` when the proxy trained to budget (the signal
  is ``[objectives] signal``, :mod:`workers.signals`; MACs and the extra objectives are
  measured when the spec is drawn, :mod:`nas.objectives`);
- ``PRUNED`` when :class:`nas.search.scheduler.PruningScheduler` stopped it;
- ``FAIL`` with ``fail_reason`` when the trainable reported an ``error`` or raised;
- ``FAIL`` with ``interrupted: ...`` and its spec queued again when the search stopped first.

Equivalent specs train once: a drawn spec whose canonical id already has a ``COMPLETE`` trial is
told ``COMPLETE`` at once with that trial's values (``reused_from``), and another is drawn.
Reused trials count towards the trial budget, so the search ends even on a tiny space.
The study layout is ``docs/study-format.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.artifacts import upload_artifact
from optuna.trial import TrialState
from ray.tune.search import Searcher

from nas.objectives import ALWAYS, MeasureFailed, measure
from nas.search.ledger import INTERRUPTED, Completed, TrialEntry, TrialLedger
from nas.space import SearchSpace
from searchspace.spec import ArchSpec
from storage.internals import storage_of
from storage.internals import trial_id as optuna_trial_id
from workers.signals import signal_key

if TYPE_CHECKING:
    from nas.search.handle import StudyHandle

MAX_DRAWS = 50
"""Draws per ``suggest`` call before giving Tune a turn (reused specs are told at once)."""


class SamplerError(RuntimeError):
    """The study's sampler raised while proposing a trial: the search cannot go on."""

    def __init__(self, sampler: str, cause: BaseException) -> None:
        super().__init__(
            f"sampler {sampler!r} failed: {type(cause).__name__}: {one_line(str(cause))}"
        )


class StudySearcher(Searcher):
    """Proposes Ray trial configs ``{"spec", "data", "budget"}`` from an Optuna study.

    Pickles without the study (:class:`~nas.search.handle.StudyHandle` reopens it); its
    :class:`~nas.search.ledger.TrialLedger` is shared with the scheduler and progress line.

    Args:
        handle: the multi-objective study (directions ``[maximize, minimize, ...]``) and the
            config whose ``[objectives]`` say what a trial is scored by and measured on.
        space: the define-by-run space.
        data, budget: the ``data`` and ``budget`` dicts every trial config carries.
        target: stop proposing once the study holds this many finished trials.
        artifacts: where to upload ``model.pt`` of completed trials (``None``: not kept).
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
    ) -> None:
        super().__init__(metric=None, mode=None)
        self.handle, self.space, self.target = handle, space, target
        self.data, self.budget = dict(data), dict(budget)
        self.signal = signal_key(handle.config.objectives.signal)
        self.measures = handle.config.objectives.vector.measured
        self.artifacts = artifacts
        self.ledger = TrialLedger.of_study(handle.study, (*ALWAYS, *self.measures))

    @property
    def study(self) -> optuna.Study:
        return self.handle.study

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        for _ in range(MAX_DRAWS):
            if self.ledger.full(self.target):
                return Searcher.FINISHED  # type: ignore[return-value]
            asked_at = datetime.now()
            try:
                trial = self.study.ask()
                entry = self._draw(trial)
            except Exception as exc:
                self._abandon_since(asked_at)
                raise SamplerError(self.sampler_name, exc) from exc
            if entry is not None:
                self.ledger.start(trial_id, entry)
                return {"spec": entry.spec.to_dict(), "data": self.data, "budget": self.budget}
        return None

    @property
    def sampler_name(self) -> str:
        return self.handle.config.search.sampler

    def _abandon_since(self, asked_at: datetime) -> None:
        """FAIL as interrupted the trial a raising ``ask``/draw left RUNNING (started at or
        after ``asked_at`` and not in flight); one from the queue (a reference design, a
        requeued trial) is queued again with its fixed params."""
        flying = {entry.trial.number for entry in self.ledger.flying.values()}
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            started = frozen.datetime_start
            if frozen.number in flying or started is None or started < asked_at:
                continue
            fail_and_requeue(self.study, frozen, frozen.system_attrs.get("fixed_params"))
            self.ledger.count(TrialState.FAIL, None, interrupted=True)

    def _draw(self, trial: optuna.trial.Trial) -> TrialEntry | None:
        """Sample, dedup and cost ``trial``; ``None`` when it was told at once instead."""
        try:
            spec = self.space.sample(trial)
        except ValueError as exc:
            self._tell_fail(trial, f"invalid spec: {exc}")
            return None
        self._set_spec_attrs(trial, spec)
        previous = self.ledger.trained(spec.canonical_id)
        if previous is not None:
            trial.set_user_attr("reused_from", previous.number)
            for key, value in previous.measured.items():
                trial.set_user_attr(key, value)
            self.study.tell(trial, previous.values)
            self.ledger.complete(spec.canonical_id, previous, reused=True)
            return None
        try:
            measured = measure(spec, self.measures)
        except MeasureFailed as exc:  # a broken block must not stop the search
            self._tell_fail(trial, str(exc))
            return None
        for name, value in _as_attrs(measured).items():
            trial.set_user_attr(name, value)
        return TrialEntry(trial, spec, measured)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        entry = self.ledger.finish(trial_id)
        if entry is None:
            return
        trial, result = entry.trial, result or {}
        if result.get("node_id"):  # workers.trainable: the Ray node the trial trained on
            trial.set_user_attr("node_id", str(result["node_id"]))
        self._record_epoch(entry, result)
        if error or result.get("error") or entry.error:
            reason = result.get("error") or entry.error or "the trial raised in its Ray worker"
            self._tell_fail(trial, str(reason))
        elif entry.pruned:
            self._store_run(entry, result)
            self.study.tell(trial, state=TrialState.PRUNED)
            self.ledger.count(TrialState.PRUNED, None)
        elif not result.get("done") or self.signal not in result:
            self._tell_fail(trial, INTERRUPTED)
            requeue(self.study, trial.number, trial.params, dict(trial.user_attrs))
        else:
            self._complete(entry, result)

    def interrupt_all(self) -> int:
        """Fail and queue again every trial still in flight (the run is stopping)."""
        stopped = list(self.ledger.flying)
        for trial_id in stopped:
            self.on_trial_complete(trial_id, {})
        return len(stopped)

    def _complete(self, entry: TrialEntry, result: Mapping[str, Any]) -> None:
        score = float(result[self.signal])
        if not math.isfinite(score):
            self._tell_fail(entry.trial, f"{self.signal} is {score}")
            return
        self._store_run(entry, result)
        self._upload_checkpoint(entry)
        values = self.handle.config.objectives.vector.values(score, entry.measured)
        self.study.tell(entry.trial, values)
        done = Completed(entry.trial.number, values, _as_attrs(entry.measured))
        self.ledger.complete(entry.spec.canonical_id, done)

    def _set_spec_attrs(self, trial: optuna.trial.Trial, spec: ArchSpec) -> None:
        trial.set_user_attr("spec", spec.to_dict())
        trial.set_user_attr("spec_id", spec.canonical_id)
        trial.set_user_attr("proxy", self.budget)

    def _store_run(self, entry: TrialEntry, result: Mapping[str, Any]) -> None:
        trial = entry.trial
        epochs = result.get("epochs_trained", result.get("epoch"))
        if epochs is not None:
            trial.set_user_attr("epochs_trained", int(epochs))
        wall = result.get("wall_time_s", result.get("time_total_s"))
        if wall is not None:
            trial.set_user_attr("wall_time_s", float(wall))
        memory = result.get("device_memory_mb")
        if memory is not None:  # trained on a GPU: its peak, for packing trials on one
            trial.set_user_attr("device_memory_mb", float(memory))
        proxy = nested(result, "proxy")
        if proxy:
            trial.set_user_attr("proxy", proxy)

    def _record_epoch(self, entry: TrialEntry, result: Mapping[str, Any]) -> None:
        """Write the last epoch's signal: a ``done`` report never reaches the scheduler."""
        record_epoch(self.study, optuna_trial_id(entry.trial), result, self.signal)

    def _upload_checkpoint(self, entry: TrialEntry) -> None:
        if self.artifacts is None or entry.checkpoint_dir is None:
            return
        weights = Path(entry.checkpoint_dir) / "model.pt"
        if not weights.is_file():
            return
        artifact_id = upload_artifact(
            artifact_store=self.artifacts,
            file_path=str(weights),
            study_or_trial=entry.trial,
            storage=storage_of(self.study),
            mimetype="application/octet-stream",
        )
        entry.trial.set_user_attr("checkpoint_artifact", artifact_id)

    def _tell_fail(self, trial: optuna.trial.Trial, reason: str) -> None:
        trial.set_user_attr("fail_reason", one_line(reason))
        self.study.tell(trial, state=TrialState.FAIL)
        self.ledger.count(TrialState.FAIL, None, interrupted=reason == INTERRUPTED)


def _as_attrs(measured: Mapping[str, float]) -> dict[str, Any]:
    """Measured objectives as trial user attributes: MACs and parameters as integers."""
    return {k: int(v) if k in ALWAYS else v for k, v in measured.items()}


def record_epoch(study: optuna.Study, trial_id: int, result: Mapping[str, Any], key: str) -> bool:
    """Store ``result[key]`` (a signal) at step ``epoch``; ``False`` if it has none."""
    epoch, score = result.get("epoch"), result.get(key)
    if epoch is None or score is None or result.get("error"):
        return False
    value = float(score)
    if not math.isfinite(value):
        return False
    storage_of(study).set_trial_intermediate_value(trial_id, int(epoch), value)
    return True


def fail_and_requeue(
    study: optuna.Study, frozen: optuna.trial.FrozenTrial, params: Mapping[str, Any] | None
) -> None:
    """FAIL ``frozen`` (left RUNNING) as interrupted and queue ``params`` again, if any.

    Written to the storage directly, not told: the sampler may be what broke.
    """
    storage = storage_of(study)
    storage.set_trial_user_attr(optuna_trial_id(frozen), "fail_reason", INTERRUPTED)
    storage.set_trial_state_values(optuna_trial_id(frozen), TrialState.FAIL)
    if params:
        requeue(study, frozen.number, params, frozen.user_attrs)


def requeue(
    study: optuna.Study, number: int, params: Mapping[str, Any], attrs: Mapping[str, Any]
) -> None:
    """Queue ``params`` again for a trial that did not finish, keeping its reference name."""
    user_attrs: dict[str, Any] = {"requeued_from": number}
    if "reference" in attrs:
        user_attrs["reference"] = attrs["reference"]
    study.enqueue_trial(dict(params), user_attrs=user_attrs)


def nested(result: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``result[key]`` as a dict, also when Tune has flattened it to ``key/field`` entries.

    Ray Tune hands searchers ``flatten_dict(result)``, so the worker's ``{"proxy": {...}}``
    arrives as ``{"proxy/width": ..., "proxy/input_size": ...}``.
    """
    value = result.get(key)
    if isinstance(value, Mapping):
        return dict(value)
    prefix = f"{key}/"
    return {k[len(prefix) :]: v for k, v in result.items() if k.startswith(prefix)}


def one_line(text: str) -> str:
    """The last non-empty line of ``text``, at most 300 characters: cut after its last whole
    sentence that fits (a line cut mid-word reads as a bug), else marked ``...``."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[-1] if lines else "unknown error"
    end = line.rfind(". ", 0, 300)
    return line if len(line) <= 300 else line[: end + 1] if end > 0 else line[:297] + "..."
