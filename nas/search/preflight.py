"""What ``nas search`` checks before it creates storage or starts Ray, and once Ray is up.

Each check is a setting a trial would otherwise fail on (or wait on forever) after the search
has started: a CUDA device that is not there, a dataset file that cannot be read, a trial
asking for more CPUs or GPUs than the cluster has (Ray would wait for them with no output).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from nas.config import SearchConfig


class ResourcesMissing(ValueError):
    """A trial asks for more of a resource than the cluster has (a user error, exit 2)."""


def check_before_storage(config: SearchConfig, wanted: Mapping[str, float]) -> None:
    """Device, data files and, for a local Ray this process will start, resources."""
    import torch

    from workers.data import DATA, check_readable

    if config.proxy.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "proxy.device: 'cuda' but no CUDA device is visible here; use 'auto' or 'cpu'"
        )
    check_readable(config.data, DATA)
    if not os.environ.get("RAY_ADDRESS") and not _ray_running():
        check_resources(wanted, {"CPU": _local_cpus(), "GPU": torch.cuda.device_count()})


def check_resources(wanted: Mapping[str, float], cluster: Mapping[str, float]) -> None:
    """``ResourcesMissing`` naming the ``[resources]`` key when one trial cannot fit at all.

    ``wanted`` is ``{"cpu": c, "gpu": g}`` per trial; ``cluster`` is Ray's
    ``cluster_resources()`` (``{"CPU": n, "GPU": m, ...}``).
    """
    for key, resource, noun in (
        ("cpus_per_trial", "CPU", "CPUs"),
        ("gpus_per_trial", "GPU", "GPUs"),
    ):
        need, have = float(wanted.get(resource.lower(), 0.0)), float(cluster.get(resource, 0.0))
        if need > have:
            where = f"the cluster has {have:g} {noun}" if have else f"the cluster has no {noun}"
            fix = (
                "lower it"
                if have
                else "set it to 0" + (" or leave it unset" if noun == "GPUs" else "")
            )
            raise ResourcesMissing(
                f"resources.{key} = {need:g}, but {where}: no trial could start; {fix}"
            )


def _ray_running() -> bool:
    import ray

    return bool(ray.is_initialized())


def _local_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1
