"""``proxy_trainable``: the Ray Tune function trainable around :func:`workers.train.train_proxy`.

``config = {"spec": ArchSpec dict, "data": DataConfig dict, "budget": ProxyBudget dict}``
(other keys, such as a searcher's own, are ignored). After every epoch it calls
``ray.tune.report(metrics, checkpoint=tune.Checkpoint)``; the checkpoint directory holds
``model.pt`` (the proxy's plain ``state_dict``) and ``train_state.pt`` (see
:mod:`workers.state`), and a restored trial (``tune.get_checkpoint()``) resumes at the next
epoch. The last report carries ``"done": True`` and the final metrics. A
:class:`~workers.failures.TrainingFailed` (or a ``ValueError`` such as missing data) is
reported, not raised, as one final result
``{"error": reason, "done": True, "epoch": last epoch}``: a raised exception would reach the
search as a Ray traceback and lose the one-line reason. Every report carries ``"node_id"``,
the hex id of the Ray node the trial trains on (Tune's own ``node_ip`` is the same for every
node of a one-machine cluster), so the search can record where each trial ran. Ray 2.60
note: inside Tune use ``ray.tune.report``/``tune.get_checkpoint``; ``ray.train.report``
fails there.
"""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.failures import TrainingFailed

if TYPE_CHECKING:
    from workers.state import TrainState


RESUME_KEY = "resume_dir"
"""Optional trial-config key: a folder kept across runs where each epoch's state is saved and
from which a new run of the same trial resumes (the search sets it, :mod:`nas.search.searcher`)."""


def parse_config(config: dict[str, Any]) -> tuple[ArchSpec, DataConfig, ProxyBudget]:
    """The spec, data and budget of a trial config (``ValueError`` naming a missing part)."""
    for key in ("spec", "data", "budget"):
        if key not in config:
            raise ValueError(f"trial config: missing {key!r}; expected spec, data and budget dicts")
    spec = ArchSpec.from_dict(config["spec"])
    return spec, DataConfig.from_dict(config["data"]), ProxyBudget.from_dict(config["budget"])


def proxy_trainable(config: dict[str, Any]) -> None:
    """Train one trial's proxy under Ray Tune, reporting per epoch (see the module docstring)."""
    from ray import tune

    from workers.ray_device import assigned_device
    from workers.train import train_proxy

    resume = _restore(tune.get_checkpoint(), config.get(RESUME_KEY))
    reporter = _Reporter(resume.epoch if resume else 0, config.get(RESUME_KEY))
    try:
        spec, data, budget = parse_config(config)
        reporter.epochs = budget.epochs
        if resume is not None and resume.epoch >= budget.epochs and resume.history:
            reporter.checkpoint(resume)  # killed after its last epoch was kept: report that one
            reporter.epoch(dict(resume.history[-1]))
        final = train_proxy(
            spec,
            data,
            budget,
            reporter.epoch,
            resume,
            on_checkpoint=reporter.checkpoint,
            device=assigned_device(budget.device),  # no GPU reserved: not on the node's first
        )
    except (TrainingFailed, ValueError) as exc:
        reporter.fail(" ".join(str(exc).split()))
        return
    reporter.finish(final)


def _restore(restored: Any, resume_dir: str | None) -> TrainState | None:
    """The state to resume from: Tune's checkpoint of this trial, else the newest epoch kept in
    ``resume_dir`` by an earlier run of the same spec (a search that was killed), else ``None``."""
    from workers.state import TrainState, load_resumable

    if restored is not None:
        with restored.as_directory() as directory:
            return TrainState.load(directory)
    return load_resumable(resume_dir) if resume_dir else None


class _Reporter:
    """Reports each epoch with its checkpoint; holds back the last one to add final metrics.

    With a ``resume_dir`` every epoch's state is also kept there (:func:`workers.state.
    save_resumable`), where a later run finds it even when Tune's own folder is gone.
    """

    def __init__(self, done_epochs: int, resume_dir: str | None = None) -> None:
        self.epochs = 0
        self.last_epoch = done_epochs
        self.resume_dir = resume_dir
        self.pending: tuple[dict[str, Any], str] | None = None
        self._dirs: list[tempfile.TemporaryDirectory[str]] = []

    def checkpoint(self, state: Any) -> None:
        from workers.state import save_resumable

        directory = tempfile.TemporaryDirectory(prefix="proxy-ckpt-")
        state.save(directory.name)
        self._dirs.append(directory)
        if self.resume_dir:
            save_resumable(state, self.resume_dir)

    def epoch(self, metrics: dict[str, float]) -> None:
        self.last_epoch = int(metrics["epoch"])
        directory = self._dirs[-1].name
        if self.last_epoch >= self.epochs:
            self.pending = (dict(metrics), directory)
            return
        self._report(dict(metrics), directory)

    def finish(self, final: dict[str, Any]) -> None:
        metrics, directory = self.pending if self.pending else ({}, None)
        self._report({**metrics, **final, "done": True}, directory)

    def fail(self, reason: str) -> None:
        self._report({"error": reason, "done": True, "epoch": self.last_epoch}, None)

    def _report(self, metrics: dict[str, Any], directory: str | None) -> None:
        from ray import tune

        checkpoint = tune.Checkpoint.from_directory(directory) if directory else None
        tune.report({**metrics, "node_id": _node_id()}, checkpoint=checkpoint)
        for reported in self._dirs:
            reported.cleanup()
        self._dirs = []


def _node_id() -> str:
    """The hex id of the Ray node this process runs on (``ray.get_runtime_context()``)."""
    import ray

    return str(ray.get_runtime_context().get_node_id())
