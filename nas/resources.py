"""What one trial (or one confirmation run) reserves on the Ray cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.config import SearchConfig
from nas.packing import AUTO, START_FRACTION

if TYPE_CHECKING:
    from ray.tune import PlacementGroupFactory

GPU_KEY = "gpus_per_trial"
"""The trial config key that carries a trial's own GPU fraction under ``gpus_per_trial =
"auto"`` (:class:`nas.search.gpu_share.GpuShare` sets it, :func:`trial_placement` reads it)."""


def trial_resources(config: SearchConfig) -> dict[str, float]:
    """``{"cpu", "gpu"}`` per run; ``gpus_per_trial`` ``None`` means ``1/concurrency`` of a GPU
    when one is visible, else none; ``"auto"`` means :data:`nas.packing.START_FRACTION` (one
    trial per card until one is measured) when one is visible and ``[proxy] device`` is not
    ``"cpu"``, else none."""
    gpus = config.resources.gpus_per_trial
    if gpus is None or gpus == AUTO:
        import torch

        start = START_FRACTION if gpus == AUTO else 1.0 / config.search.concurrency
        on_cpu = gpus == AUTO and config.proxy.device == "cpu"
        gpus = min(1.0, start) if torch.cuda.is_available() and not on_cpu else 0.0
    return {"cpu": config.resources.cpus_per_trial, "gpu": float(gpus)}


def trial_placement(config: dict[str, Any], *, cpu: float, gpu: float) -> PlacementGroupFactory:
    """What Ray Tune reserves for the trial whose config is ``config``: ``gpu`` unless the
    config carries its own fraction (:data:`GPU_KEY`), so a search can repack later trials
    (Tune calls this once per trial, when the trial is created)."""
    from ray.tune import PlacementGroupFactory

    return PlacementGroupFactory([{"CPU": cpu, "GPU": float(config.get(GPU_KEY, gpu))}])
