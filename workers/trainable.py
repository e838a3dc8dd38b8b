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
search as a Ray traceback and lose the one-line reason. Ray 2.60 note: inside Tune use
``ray.tune.report``/``tune.get_checkpoint``; ``ray.train.report`` fails there.
"""

from __future__ import annotations

import tempfile
from typing import Any

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.failures import TrainingFailed


def trainable_resources(cpus: float = 1.0, gpu_fraction: float = 0.0) -> dict[str, float]:
    """Resources of one trial for ``tune.with_resources(proxy_trainable, ...)``.

    ``gpu_fraction`` in [0, 1] lets several trials share one GPU (0.25: four per GPU); Ray
    hides the GPU from a trial that asks for none, so ``device="auto"`` then trains on CPU.
    """
    if not (isinstance(cpus, int | float) and cpus > 0):
        raise ValueError(f"cpus: expected a number > 0 per trial, got {cpus!r}")
    if not (isinstance(gpu_fraction, int | float) and 0 <= gpu_fraction <= 1):
        raise ValueError(
            f"gpu_fraction: expected a number in [0, 1] per trial, got {gpu_fraction!r}"
        )
    return {"cpu": float(cpus), "gpu": float(gpu_fraction)}


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

    from workers.state import TrainState
    from workers.train import train_proxy

    restored = tune.get_checkpoint()
    resume = None
    if restored is not None:
        with restored.as_directory() as directory:
            resume = TrainState.load(directory)
    reporter = _Reporter(resume.epoch if resume else 0)
    try:
        spec, data, budget = parse_config(config)
        reporter.epochs = budget.epochs
        final = train_proxy(
            spec, data, budget, reporter.epoch, resume, on_checkpoint=reporter.checkpoint
        )
    except (TrainingFailed, ValueError) as exc:
        reporter.fail(" ".join(str(exc).split()))
        return
    reporter.finish(final)


class _Reporter:
    """Reports each epoch with its checkpoint; holds back the last one to add final metrics."""

    def __init__(self, done_epochs: int) -> None:
        self.epochs = 0
        self.last_epoch = done_epochs
        self.pending: tuple[dict[str, Any], str] | None = None
        self._dirs: list[tempfile.TemporaryDirectory[str]] = []

    def checkpoint(self, state: Any) -> None:
        directory = tempfile.TemporaryDirectory(prefix="proxy-ckpt-")
        state.save(directory.name)
        self._dirs.append(directory)

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
        tune.report(metrics, checkpoint=checkpoint)
        for reported in self._dirs:
            reported.cleanup()
        self._dirs = []
