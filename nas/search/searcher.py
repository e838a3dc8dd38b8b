"""A Ray Tune ``Searcher`` that proposes specs with Optuna's ask-and-tell, on our own study.

Why not Ray's ``OptunaSearch``: it forces ``NopPruner`` and tells early-stopped trials as
``COMPLETE`` with a low-fidelity value, which would put pruned trials on the front. Here every
Ray trial is one Optuna trial asked from the study and told exactly once:

- ``COMPLETE`` with ``[signal, macs, *extra]`` when the proxy trained to budget (the signal
  is ``[objectives] signal``, :mod:`workers.signals`; by default the best validation accuracy);
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.artifacts import upload_artifact
from optuna.trial import TrialState
from ray.tune.search import Searcher

from nas.space import SearchSpace
from searchspace.spec import ArchSpec
from storage.internals import storage_of
from storage.internals import trial_id as optuna_trial_id
from workers.signals import signal_key

if TYPE_CHECKING:
    from nas.search.handle import StudyHandle

INTERRUPTED = "interrupted: the search process stopped"
_COST_ATTRS = ("macs", "params", "latency_ms")
MAX_DRAWS = 50
"""Draws per ``suggest`` call before giving Tune a turn (reused specs are told at once)."""

Objective = Callable[["TrialEntry"], float]


class SamplerError(RuntimeError):
    """The study's sampler raised while proposing a trial: the search cannot go on."""

    def __init__(self, sampler: str, cause: BaseException) -> None:
        super().__init__(
            f"sampler {sampler!r} failed: {type(cause).__name__}: {one_line(str(cause))}"
        )


@dataclass
class TrialEntry:
    """One Ray trial in flight: its Optuna trial and what Tune told us about it so far."""

    trial: optuna.trial.Trial
    spec: ArchSpec
    macs: int
    params: int
    latency_ms: float | None = None
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


class StudySearcher(Searcher):
    """Proposes Ray trial configs ``{"spec", "data", "budget"}`` from an Optuna study.

    Pickles without the study (:class:`~nas.search.handle.StudyHandle` reopens it) and without
    the trials in flight, which are RUNNING in the study: the next ``nas search`` fails and
    queues them again.

    Args:
        handle: the multi-objective study (directions ``[maximize, minimize, ...]``).
        space: the define-by-run space.
        data, budget: the ``data`` and ``budget`` dicts every trial config carries.
        target: stop proposing once the study holds this many finished trials.
        extra: names of extra objectives (``params``, ``latency_ms``) after accuracy and MACs.
        artifacts: where to upload ``model.pt`` of completed trials (``None``: not kept).
        cost: ``spec -> (macs, params)``; ``latency``: ``spec -> ms`` (only with latency_ms).
    """

    def __init__(
        self,
        handle: StudyHandle,
        space: SearchSpace,
        *,
        data: Mapping[str, Any],
        budget: Mapping[str, Any],
        target: int,
        extra: tuple[str, ...],
        artifacts: Any,
        cost: Callable[[ArchSpec], tuple[int, int]],
        latency: Callable[[ArchSpec], float] | None = None,
    ) -> None:
        super().__init__(metric=None, mode=None)
        self.handle, self.space, self.target, self.extra = handle, space, target, extra
        self.data, self.budget = dict(data), dict(budget)
        self.signal = signal_key(handle.config.objectives.signal)
        self.artifacts, self.cost, self.latency = artifacts, cost, latency
        self.entries: dict[str, TrialEntry] = {}
        self.tally = Tally()
        self.done: dict[str, tuple[int, list[float], dict[str, Any]]] = {}
        for t in handle.study.get_trials(deepcopy=False):
            interrupted = t.user_attrs.get("fail_reason") == INTERRUPTED
            self._count(t.state, t.values, interrupted=interrupted)
            if t.state == TrialState.COMPLETE and "spec_id" in t.user_attrs:
                known = {k: t.user_attrs[k] for k in _COST_ATTRS if k in t.user_attrs}
                self.done.setdefault(t.user_attrs["spec_id"], (t.number, list(t.values), known))

    @property
    def study(self) -> optuna.Study:
        return self.handle.study

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "entries": {}}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        for _ in range(MAX_DRAWS):
            if self.tally.finished + len(self.entries) >= self.target:
                return Searcher.FINISHED  # type: ignore[return-value]
            asked_at = datetime.now()
            try:
                trial = self.study.ask()
                entry = self._draw(trial)
            except Exception as exc:
                self._abandon_since(asked_at)
                raise SamplerError(self.sampler_name, exc) from exc
            if entry is not None:
                self.entries[trial_id] = entry
                self.tally.running = len(self.entries)
                return {"spec": entry.spec.to_dict(), "data": self.data, "budget": self.budget}
        return None

    @property
    def sampler_name(self) -> str:
        return self.handle.config.search.sampler

    def _abandon_since(self, asked_at: datetime) -> None:
        """FAIL as interrupted the trial a raising ``ask``/draw left RUNNING (started at or
        after ``asked_at`` and not in flight); one from the queue (a reference design, a
        requeued trial) is queued again with its fixed params."""
        flying = {entry.trial.number for entry in self.entries.values()}
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            started = frozen.datetime_start
            if frozen.number in flying or started is None or started < asked_at:
                continue
            fail_and_requeue(self.study, frozen, frozen.system_attrs.get("fixed_params"))
            self._count(TrialState.FAIL, None, interrupted=True)

    def _draw(self, trial: optuna.trial.Trial) -> TrialEntry | None:
        """Sample, dedup and cost ``trial``; ``None`` when it was told at once instead."""
        try:
            spec = self.space.sample(trial)
        except ValueError as exc:
            self._tell_fail(trial, f"invalid spec: {exc}")
            return None
        self._set_spec_attrs(trial, spec)
        previous = self.done.get(spec.canonical_id)
        if previous is not None:
            number, values, known = previous
            trial.set_user_attr("reused_from", number)
            for key, value in known.items():
                trial.set_user_attr(key, value)
            self.study.tell(trial, values)
            self.tally.reused += 1
            self._count(TrialState.COMPLETE, values)
            return None
        try:
            macs, params = self.cost(spec)
        except Exception as exc:  # a broken block must not stop the search
            self._tell_fail(trial, f"cost model failed: {type(exc).__name__}: {exc}")
            return None
        trial.set_user_attr("macs", macs)
        trial.set_user_attr("params", params)
        entry = TrialEntry(trial, spec, macs, params)
        if "latency_ms" in self.extra:
            assert self.latency is not None, "latency_ms objective without a latency probe"
            entry.latency_ms = self.latency(spec)
            trial.set_user_attr("latency_ms", entry.latency_ms)
        return entry

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        entry = self.entries.pop(trial_id, None)
        self.tally.running = len(self.entries)
        if entry is None:
            return
        trial, result = entry.trial, result or {}
        self._record_epoch(entry, result)
        if error or result.get("error") or entry.error:
            reason = result.get("error") or entry.error or "the trial raised in its Ray worker"
            self._tell_fail(trial, str(reason))
        elif entry.pruned:
            self._store_run(entry, result)
            self.study.tell(trial, state=TrialState.PRUNED)
            self._count(TrialState.PRUNED, None)
        elif not result.get("done") or self.signal not in result:
            self._tell_fail(trial, INTERRUPTED)
            requeue(self.study, trial.number, trial.params, dict(trial.user_attrs))
        else:
            self._complete(entry, result)

    def interrupt_all(self) -> int:
        """Fail and queue again every trial still in flight (the run is stopping)."""
        stopped = list(self.entries)
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
        by_name = {"params": float(entry.params), "latency_ms": entry.latency_ms or 0.0}
        values = [score, float(entry.macs), *(by_name[name] for name in self.extra)]
        self.study.tell(entry.trial, values)
        known: dict[str, Any] = {"macs": entry.macs, "params": entry.params}
        if entry.latency_ms is not None:
            known["latency_ms"] = entry.latency_ms
        self.done.setdefault(entry.spec.canonical_id, (entry.trial.number, values, known))
        self._count(TrialState.COMPLETE, values)

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
        self._count(TrialState.FAIL, None, interrupted=reason == INTERRUPTED)

    def _count(
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
    """The last non-empty line of ``text``, at most 300 characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return (lines[-1] if lines else "unknown error")[:300]
