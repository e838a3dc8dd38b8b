"""What one trial (or one confirmation run) reserves on the Ray cluster."""

from __future__ import annotations

from nas.config import SearchConfig


def trial_resources(config: SearchConfig) -> dict[str, float]:
    """``{"cpu", "gpu"}`` per run; ``gpus_per_trial`` ``None`` means ``1/concurrency`` of a GPU
    when one is visible, else none."""
    gpus = config.resources.gpus_per_trial
    if gpus is None:
        import torch

        gpus = min(1.0, 1.0 / config.search.concurrency) if torch.cuda.is_available() else 0.0
    return {"cpu": config.resources.cpus_per_trial, "gpu": gpus}
