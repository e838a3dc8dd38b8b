"""Seed replicas trained together, for ``bench/gpu.py`` (issue 26, item 3): k seeds of one spec
in one process, one vmapped step for all of them, against k processes sharing the device.

Each replica is the worker's run at seed ``budget.seed + i``: its own initial weights, data
order and augmentation (``prepare_run`` at that seed). Their parameters and buffers are stacked
along a new leading dimension (``torch.func.stack_module_state``) and one forward and backward
of ``torch.func.vmap(functional_call)`` trains all k: each replica gets its own batch, its own
BatchNorm statistics and running buffers (updated in place through the stacked buffers). One
optimizer of the worker's recipe holds the stacked tensors; SGD, momentum and weight decay are
elementwise, so each replica's update is the one its own optimizer would make. The loss summed
over replicas has, for each replica's parameters, that replica's gradient.

What it buys is fewer, larger kernels (a convolution of k replicas is one grouped convolution),
which matters where a small model leaves a GPU idle between launches. On this project's CPU it
did not pay (docs/performance.md, "Seed replicas trained together"). Under vmap ``sasa``
raises, ``ham`` draws other random bases than separate runs would, and ``deform`` and ``stn``
run through PyTorch's per-replica fallback (no batching rule); the bench's proxies use SE.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from gpu_loops import bench_budget, reset_device, timed_epochs
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.loop import CHECK_EVERY
from workers.optimizers import OPTIMIZERS
from workers.recipe import make_schedule, parameter_groups
from workers.train import prepare_run


def replicas_rate(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    device: torch.device,
    seconds: float,
    k: int,
) -> dict[str, Any]:
    """Training images/s of ``k`` seeds trained together (all replicas' images), its first
    epoch's seconds and peak memory (``gpu_loops.timed_epochs``)."""
    reset_device(device)
    runs = [
        prepare_run(
            spec, data, bench_budget(dataclasses.replace(budget, seed=budget.seed + i)), device
        )
        for i in range(k)
    ]
    trains = [splits.train for _, splits, _ in runs]
    models = [loop.model for _, _, loop in runs]
    cuda = device.type == "cuda"
    params, buffers = stack_module_state(models)  # copies: the k models are dropped below
    base = copy.deepcopy(models[0]).to("meta")
    del runs, models
    optimizer = OPTIMIZERS[budget.optimizer].build(
        _groups(base, params, budget.decay), budget.peak_lr
    )
    schedule = make_schedule(optimizer, bench_budget(budget), len(trains[0]))

    def loss_of(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        logits = functional_call(base, (p, b), (x,))
        return F.cross_entropy(logits, y, label_smoothing=budget.label_smoothing)

    losses_of = vmap(loss_of, randomness="different")

    def epoch(_: int) -> None:
        losses = torch.zeros(len(trains[0]), k, device=device)
        for step, batches in enumerate(zip(*trains, strict=True)):
            x = torch.stack([x for x, _ in batches])
            y = torch.stack([y for _, y in batches])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                loss = losses_of(params, buffers, x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            optimizer.step()
            schedule.step()
            losses[step] = loss.detach()
            if (step + 1) % CHECK_EVERY == 0:  # the worker's one synchronisation per 8 steps
                _check(losses[step + 1 - CHECK_EVERY : step + 1], step + 1)
        _check(losses, len(losses))

    return timed_epochs(epoch, k * len(trains[0]) * budget.batch_size, device, seconds)


def _check(losses: Tensor, step: int) -> None:
    if not bool(torch.isfinite(losses).all()):
        raise FloatingPointError(f"a replica's training loss is not finite by step {step}")


def _groups(
    base: nn.Module, stacked: dict[str, Tensor], weight_decay: float
) -> list[dict[str, object]]:
    """``workers.recipe.parameter_groups`` of ``base`` (decay by each parameter's own rank,
    which the stacked one exceeds by one) with each parameter's stacked tensor in its place."""
    names = {id(param): name for name, param in base.named_parameters()}
    groups = parameter_groups(base, weight_decay)
    for group in groups:
        group["params"] = [stacked[names[id(p)]] for p in group["params"]]  # type: ignore[attr-defined]
    return groups
