"""Trials per GPU for ``bench/gpu.py``: k processes train the worker's loop on one device at once.

This is what k trials under ``gpus_per_trial = 1/k`` do: Ray only sets
``CUDA_VISIBLE_DEVICES``, so the card sees k processes either way. Each process is spawned (a
CUDA context does not survive a fork), trains for the same ``seconds`` from one barrier, and
reports its images/s and peak device memory through a queue.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import torch
import torch.multiprocessing as mp
from gpu_loops import worker_rate

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig


def packed(
    spec: ArchSpec, budget: ProxyBudget, data: DataConfig, args: argparse.Namespace, k: int
) -> dict[str, Any]:
    """``k`` spawned processes train at once; their timed windows start at one barrier."""
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(k), context.Queue()
    jobs = [
        context.Process(
            target=_one_of_many,
            args=(spec.to_dict(), budget.to_dict(), data.to_dict(), args.device, args.seconds),
            kwargs={"barrier": barrier, "results": results},
            daemon=True,  # an interrupted run leaves no trainer behind
        )
        for _ in range(k)
    ]
    for job in jobs:
        job.start()
    rates = [results.get(timeout=90 + 4 * args.seconds) for _ in jobs]
    for job in jobs:
        job.join()
    errors = [r["error"] for r in rates if "error" in r]
    if errors:
        raise RuntimeError(f"{len(errors)} of {k} processes failed: {errors[0]}")
    per_trial = [r["images_per_s"] for r in rates]
    peaks = [r["peak_mb"] for r in rates if r["peak_mb"] is not None]
    return {
        "per_trial_images_per_s": statistics.mean(per_trial),
        "card_images_per_s": sum(per_trial),
        "max_peak_mb": max(peaks) if peaks else None,
    }


def _one_of_many(
    spec: dict[str, Any],
    budget: dict[str, Any],
    data: dict[str, Any],
    device: str,
    seconds: float,
    *,
    barrier: Any,
    results: Any,
) -> None:
    if device == "cpu":
        torch.set_num_threads(1)  # what Ray gives a 1-CPU trial
    try:
        rate = worker_rate(
            ArchSpec.from_dict(spec),
            ProxyBudget.from_dict(budget),
            DataConfig.from_dict(data),
            torch.device(device),
            seconds,
            barrier=barrier,
        )
    except Exception as exc:
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    results.put(rate)
