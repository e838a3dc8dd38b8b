"""One trial of a search: what it is while it trains, and every write the search makes to it.

A Ray trial is one Optuna trial, asked from the study and ended exactly once
(``docs/study-format.md``):

- ``COMPLETE`` with ``[signal, macs, *extra]`` when the proxy trained to budget, or at once
  with the values of an earlier trial of the same canonical spec (:func:`tell_reused`);
- ``PRUNED`` when the study's pruner stopped it (:mod:`nas.search.scheduler`);
- ``FAIL`` with ``fail_reason`` when it could not train (:func:`tell_fail`);
- ``FAIL`` with :data:`INTERRUPTED` and its parameters queued again when the search stopped
  first or its driver died (:func:`fail_and_requeue`, the one place that does it).

A **replica** (``replica_of`` and ``seed`` user attributes, queued by
:func:`nas.search.study.queue_replicas`) trains a reference design again at another proxy seed
to measure the proxy's noise: it is never told with an earlier trial's result, and no later
trial is told with its result (:func:`replica_seed`).

The epoch's signal is stored as an intermediate value (:func:`record_epoch`), where the pruner
and the progress of a trial are read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import upload_artifact
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from searchspace.spec import ArchSpec
from storage.internals import storage_of, trial_id

INTERRUPTED = "interrupted: the search process stopped"
"""The ``fail_reason`` of a trial the search stopped before it finished (its spec is queued
again, so it does not count towards the trial budget)."""
OVER_BUDGET = "over budget: another nas search asked for the last trial first"
"""The ``fail_reason`` of a trial asked past the budget: two drivers that find it open at once
both ask, and the one whose trial came second gives it up untrained (queued params go back
to the queue). It does not count towards the budget either."""
UNCOUNTED = (INTERRUPTED, OVER_BUDGET)
"""The ``fail_reason`` values of ended trials that do not count towards the budget."""


@dataclass
class TrialEntry:
    """One Ray trial in flight: its Optuna trial, its spec, its measured objectives, and what
    the scheduler saw (``pruned``, an ``error`` that stopped it, the ``lost`` line of its
    worker's last death or raise, its last ``checkpoint``).

    ``lost`` is only the reason when the trial ends in error: Tune may have started it again
    (``[resources] max_retries``), and a retried trial that finishes is not a failure."""

    trial: optuna.trial.Trial
    spec: ArchSpec
    measured: dict[str, float]
    pruned: bool = False
    error: str | None = None
    lost: str | None = None
    checkpoint: Any = None
    """Its last ``ray.tune.Checkpoint``, read once when ``model.pt`` is uploaded."""
    seed: int | None = None
    """The proxy seed of a replica (``None``: the budget's own)."""

    @property
    def resume_key(self) -> str:
        """The folder of its resumable state: a replica's is not its original's."""
        spec_id = self.spec.canonical_id
        return spec_id if self.seed is None else f"{spec_id}-seed{self.seed}"


def resume_root(url: str, artifacts: str | None, study: str) -> Path:
    """``<artifacts>/resume/<study>`` of the storage at ``url`` (``artifacts``: ``[search]
    artifacts``): beside the trained weights, so it outlives the driver and every node that
    can upload weights can reach it."""
    from storage import artifacts_dir_for

    return artifacts_dir_for(url, artifacts) / "resume" / study


@dataclass(frozen=True)
class Completed:
    """A trained canonical spec: its trial ``number``, objective ``values`` and the measured
    user attributes a later trial of the same spec copies (``reused_from``)."""

    number: int
    values: list[float]
    measured: dict[str, Any]


REPLICA_KEYS = ("replica_of", "seed")
"""User attributes of a replica, kept by its requeued copy."""


def replica_seed(trial: optuna.trial.Trial | FrozenTrial) -> int | None:
    """The proxy seed ``trial`` trains at if it is a replica, else ``None``."""
    if "replica_of" not in trial.user_attrs:
        return None
    return int(trial.user_attrs["seed"])


def set_spec(trial: optuna.trial.Trial, spec: ArchSpec, budget: Mapping[str, Any]) -> None:
    """The drawn spec, its canonical id and the proxy budget it trains at."""
    trial.set_user_attr("spec", spec.to_dict())
    trial.set_user_attr("spec_id", spec.canonical_id)
    trial.set_user_attr("proxy", dict(budget))


def tell_reused(study: optuna.Study, trial: optuna.trial.Trial, done: Completed) -> None:
    """``COMPLETE`` with the values of ``done``, a trained trial of the same spec."""
    trial.set_user_attr("reused_from", done.number)
    for key, value in done.measured.items():
        trial.set_user_attr(key, value)
    study.tell(trial, done.values)


def tell_fail(study: optuna.Study, trial: optuna.trial.Trial, reason: str) -> None:
    """``FAIL`` with ``reason`` (its last line) as ``fail_reason``."""
    trial.set_user_attr("fail_reason", one_line(reason))
    study.tell(trial, state=TrialState.FAIL)


def fail_and_requeue(
    study: optuna.Study,
    trial: FrozenTrial | optuna.trial.Trial,
    params: Mapping[str, Any] | None,
    reason: str = INTERRUPTED,
) -> bool:
    """FAIL the RUNNING ``trial`` as ``reason`` (one of :data:`UNCOUNTED`) and queue ``params``
    again, if any.

    Written to the storage directly, not told: the sampler may be what broke. ``False`` when
    the trial finished first (its driver was alive, or another driver claimed it), so of two
    drivers that find the same orphan one queues it again.
    """
    storage = storage_of(study)
    try:
        storage.set_trial_user_attr(trial_id(trial), "fail_reason", reason)
        storage.set_trial_state_values(trial_id(trial), TrialState.FAIL)
    except UpdateFinishedTrialError:
        return False
    if params:
        attrs: dict[str, Any] = {"requeued_from": trial.number}
        for key in ("reference", *REPLICA_KEYS):  # a reference keeps its name, a replica its seed
            if key in trial.user_attrs:
                attrs[key] = trial.user_attrs[key]
        study.enqueue_trial(dict(params), user_attrs=attrs)
    return True


def give_up(study: optuna.Study, tid: int, reason: str = OVER_BUDGET) -> bool:
    """FAIL as ``reason`` trial id ``tid``, just asked and untrained (over the budget, or its
    draw raised); a queued one's params go back to the queue. As :func:`fail_and_requeue`."""
    frozen = storage_of(study).get_trial(tid)
    return fail_and_requeue(study, frozen, frozen.system_attrs.get("fixed_params"), reason)


def record_epoch(study: optuna.Study, tid: int, result: Mapping[str, Any], key: str) -> bool:
    """Store ``result[key]`` (a signal) at step ``epoch`` of trial id ``tid``; ``False`` if it
    has none."""
    epoch, score = result.get("epoch"), result.get(key)
    if epoch is None or score is None or result.get("error"):
        return False
    value = float(score)
    if not math.isfinite(value):
        return False
    storage_of(study).set_trial_intermediate_value(tid, int(epoch), value)
    return True


def store_run(trial: optuna.trial.Trial, result: Mapping[str, Any]) -> None:
    """What the trainable reported of its run: epochs, wall time, GPU memory, the proxy."""
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


def upload_checkpoint(study: optuna.Study, entry: TrialEntry, artifacts: Any) -> None:
    """Upload ``model.pt`` of the trial's last checkpoint to ``artifacts``, if both exist.

    A checkpoint on a local filesystem is read where it is; one on ``s3://`` & co.
    (``[resources] storage_path``) is fetched to a temporary folder that Ray removes again
    (``Checkpoint.as_directory``), so no copy of every trial's weights piles up in ``/tmp``."""
    if artifacts is None or entry.checkpoint is None:
        return
    with entry.checkpoint.as_directory() as folder:
        weights = Path(folder) / "model.pt"
        if not weights.is_file():
            return
        artifact_id = upload_artifact(
            artifact_store=artifacts,
            file_path=str(weights),
            study_or_trial=entry.trial,
            storage=storage_of(study),
            mimetype="application/octet-stream",
        )
    entry.trial.set_user_attr("checkpoint_artifact", artifact_id)


def fail_reason(study: optuna.Study, trial: optuna.trial.Trial) -> str | None:
    """The ``fail_reason`` stored for ``trial`` now (another driver may have written it)."""
    reason = storage_of(study).get_trial(trial_id(trial)).user_attrs.get("fail_reason")
    return str(reason) if reason is not None else None


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


class SamplerError(RuntimeError):
    """The study's sampler raised while proposing a trial: the search cannot go on."""

    def __init__(self, sampler: str, cause: BaseException) -> None:
        super().__init__(
            f"sampler {sampler!r} failed: {type(cause).__name__}: {one_line(str(cause))}"
        )


def one_line(text: str) -> str:
    """The last non-empty line of ``text``, at most 300 characters: cut after its last whole
    sentence that fits (a line cut mid-word reads as a bug), else marked ``...``."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = lines[-1] if lines else "unknown error"
    end = line.rfind(". ", 0, 300)
    return line if len(line) <= 300 else line[: end + 1] if end > 0 else line[:297] + "..."
