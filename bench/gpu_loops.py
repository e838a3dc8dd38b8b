"""The two loops ``bench/gpu.py`` times: the worker's and the plainest one, on one device.

Both train for a time, not a count of steps: one warm-up epoch (cuDNN's algorithm choice,
``torch.compile``'s compilation), then whole epochs until ``seconds`` have passed, with the
device synchronised before the clock is read.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from searchspace.build import build_model
from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.train import prepare_run, to_channels_last

LONG_RUN = 10_000
"""Epochs the bench's budgets plan for, so the schedule never reaches its end (learning rate
0) however many epochs fit in the time."""


def bench_budget(budget: ProxyBudget) -> ProxyBudget:
    return dataclasses.replace(budget, epochs=LONG_RUN)


def peak_mb(device: torch.device) -> float | None:
    """Peak memory allocated on ``device`` since the last reset, in MiB (``None`` on CPU)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def reset_device(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_epochs(
    epoch: Callable[[int], None],
    images_per_epoch: int,
    device: torch.device,
    seconds: float,
    barrier: Any = None,
) -> dict[str, Any]:
    """Train ``epoch(1)`` as the warm-up, then ``epoch(2)``, ``epoch(3)``, ... until
    ``seconds`` have passed, the device synchronised before each clock read: images/s, the
    first epoch's seconds, an epoch's seconds and the peak memory. ``barrier`` (from
    :mod:`multiprocessing`) is waited on after the warm-up, so that several processes time
    the same window."""
    started = time.perf_counter()
    epoch(1)
    _sync(device)
    first = time.perf_counter() - started
    if barrier is not None:
        barrier.wait()
    epochs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        epochs += 1
        epoch(1 + epochs)
        _sync(device)
    elapsed = time.perf_counter() - started
    return {
        "images_per_s": epochs * images_per_epoch / elapsed,
        "first_epoch_s": first,
        "epoch_s": elapsed / epochs,
        "peak_mb": peak_mb(device),
    }


def worker_rate(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    device: torch.device,
    seconds: float,
    *,
    channels_last: bool | None = None,
    compile_mode: str | None = None,
    barrier: Any = None,
) -> dict[str, Any]:
    """Training images/s of the worker's loop (``prepare_run``: the trial's own data, model,
    recipe and layout), timed by :func:`timed_epochs`. ``compile_mode`` trains through
    ``torch.compile(model, mode=compile_mode)`` (``"reduce-overhead"``: CUDA graphs), as
    ``[proxy] compile`` does in its default mode."""
    reset_device(device)
    _, splits, loop = prepare_run(
        spec, data, bench_budget(budget), device, channels_last=channels_last
    )
    if compile_mode is not None:
        torch.compiler.reset()
        loop.compiled = torch.compile(loop.model, mode=compile_mode)  # type: ignore[assignment]
    per_epoch = len(splits.train) * budget.batch_size
    return timed_epochs(
        lambda index: loop.train_epoch(index, splits.train), per_epoch, device, seconds, barrier
    )


def bare_rate(
    spec: ArchSpec, budget: ProxyBudget, data: DataConfig, device: torch.device, seconds: float
) -> dict[str, Any]:
    """Training images/s of the plainest loop on the worker's own training images, made
    float and normalised once (no augmentation, smoothing, schedule or loss checks), with the
    worker's layout and autocast on ``device``."""
    reset_device(device)
    proxy, splits, loop = prepare_run(spec, data, bench_budget(budget), device)
    train = splits.train
    images = train.images  # type: ignore[attr-defined]  # in-memory data: TensorBatches
    x_all, y_all = train.normalize(images), train.labels  # type: ignore[attr-defined]
    if train.channels_last:  # type: ignore[attr-defined]
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    del splits, loop
    torch.manual_seed(budget.seed)
    model = build_model(proxy.spec)
    if x_all.is_contiguous(memory_format=torch.channels_last) and device.type == "cuda":
        to_channels_last(model)  # the worker's layout call (a 5-D kernel bank included)
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    batch, n = budget.batch_size, x_all.shape[0]
    steps = n // batch
    cuda = device.type == "cuda"

    def epoch(_: int) -> None:
        order = torch.randperm(n, device=device)
        for step in range(steps):
            index = order[step * batch : (step + 1) * batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                loss = F.cross_entropy(model(x_all[index]), y_all[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return timed_epochs(epoch, steps * batch, device, seconds)
