"""One whole proxy run as a plain function: what ``nas confirm`` and ``nas calibrate`` send to
their Ray workers, through :func:`train_once_in_ray` (a search's trials go through the Tune
trainable instead).

Its arguments and result are plain dicts, which is what crosses to a Ray worker; torch and the
training loop are imported inside, so the driver that only schedules the runs never loads them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.train import EpochCallback


def train_once(
    spec: dict[str, Any],
    data: dict[str, Any],
    budget: dict[str, Any],
    *,
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """Train ``spec`` once at ``budget`` on ``data``: its last validation accuracy, each ranking
    signal's final value (``signal/<name>``) and the wall time in seconds; ``{"error": one
    line}`` when training fails or a setting is refused (the caller stores the reason).

    ``on_epoch(metrics)`` sees each epoch's metrics (:func:`workers.train.train_proxy`): the
    benchmarks record the learning curve through it, so they measure this very function."""
    from searchspace.spec import ArchSpec
    from workers.budget import ProxyBudget
    from workers.data import DataConfig
    from workers.failures import TrainingFailed
    from workers.signals import PREFIX
    from workers.train import train_proxy

    started = time.perf_counter()
    try:
        final = train_proxy(
            ArchSpec.from_dict(spec),
            DataConfig.from_dict(data),
            ProxyBudget.from_dict(budget),
            on_epoch=on_epoch,
        )
    except (TrainingFailed, ValueError) as exc:
        return {"error": " ".join(str(exc).split())}
    result = {k: float(v) for k, v in final.items() if k.startswith(PREFIX)}
    result["val_accuracy"] = float(final["last_val_accuracy"])
    result["wall_time_s"] = time.perf_counter() - started
    return result


def train_once_in_ray(
    spec: dict[str, Any], data: dict[str, Any], budget: dict[str, Any]
) -> dict[str, Any]:
    """:func:`train_once` as ``nas confirm`` and ``nas calibrate`` run it, in a Ray task:
    ``device = "auto"`` trains on CUDA only when the task holds a share of a GPU (a task that
    reserved none sees every GPU of its node, :mod:`workers.ray_device`)."""
    from workers.ray_device import assigned_device

    if budget.get("device", "auto") == "auto":
        budget = {**budget, "device": assigned_device("auto")}
    return train_once(spec, data, budget)
