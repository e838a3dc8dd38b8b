"""``train_proxy``: train and evaluate one spec's proxy, reporting after every epoch.

Plain Python + torch with a callback, so it runs and is tested without Ray
(:mod:`workers.trainable` is the thin Ray Tune wrapper). The proxy is the spec's attention
layout at the budget's width and resolution (:mod:`workers.proxy`); the MACs and parameters
it returns are always those of the full-scale spec, the search's cost objective.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from searchspace.build import build_model
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig, dataset_shape
from workers.loop import Loop
from workers.proxy import Proxy, make_proxy
from workers.recipe import make_optimizer, make_schedule
from workers.signals import signal_values
from workers.splits import Splits, load_splits
from workers.state import TrainState

EpochCallback = Callable[[dict[str, float]], bool | None]
"""Called with each epoch's metrics; returning ``True`` stops training (the trial is pruned)."""


def resolve_device(name: str, *, field: str = "budget.device") -> torch.device:
    """``"auto"``: CUDA when a GPU is visible, else CPU (in a Ray task or actor, every GPU of its
    node: the Ray entry points ask :mod:`workers.ray_device` first); ``field`` is the setting
    as the user wrote it (``--device`` for ``nas train``)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{field}: 'cuda' but no CUDA device is visible; use 'auto'")
    return torch.device(name)


def plan_proxy(spec: ArchSpec, data: DataConfig, budget: ProxyBudget) -> Proxy:
    """The proxy ``train_proxy`` would train for ``spec`` on ``data`` (cheap: no data load)."""
    in_channels, native, num_classes = dataset_shape(data)
    return make_proxy(
        spec,
        width=budget.width,
        input_size=budget.input_size or native,
        in_channels=in_channels,
        num_classes=num_classes,
    )


def train_proxy(
    spec: ArchSpec,
    data: DataConfig,
    budget: ProxyBudget,
    on_epoch: EpochCallback | None = None,
    resume: TrainState | None = None,
    *,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Train ``spec``'s proxy for ``budget.epochs`` epochs (from ``resume`` if given).

    ``on_checkpoint(state)`` is called after each epoch, just before ``on_epoch(metrics)``.
    ``device`` trains there in place of ``budget.device`` (a Ray trial's own choice,
    :func:`workers.ray_device.assigned_device`); the returned ``proxy`` keeps the budget's.
    Epoch metrics: ``epoch`` (1-based), ``val_accuracy`` in [0, 1], ``val_loss``,
    ``train_loss``, ``images_per_s``, ``lr``, ``epoch_time_s`` and every ranking signal of
    the epochs so far (``signal/<name>``, :mod:`workers.signals`). Returns those signals and:
    ``best_val_accuracy``, ``last_val_accuracy``, ``val_accuracy`` (the last),
    ``epochs_trained``, ``wall_time_s``, ``params``, ``macs``, ``proxy``, ``stopped_early``
    and, on a GPU, ``device_memory_mb`` (:func:`device_memory_mb`) and ``device_total_mb``,
    the card's total memory (what ``gpus_per_trial = "auto"`` packs trials into).

    Raises :class:`workers.failures.TrainingFailed` on NaN/inf loss, out-of-memory, or an
    exception inside the model, and ``ValueError`` for missing data or a bad budget.
    """
    started = time.perf_counter()
    target = resolve_device(budget.device if device is None else device)
    if target.type == "cuda":  # a reused Ray actor must not report the last trial's peak
        torch.cuda.reset_peak_memory_stats(target)
    proxy, splits, loop = prepare_run(spec, data, budget, target, resume)
    history = list(resume.history) if resume else []
    earlier = resume.wall_time_s if resume else 0.0
    stopped = False
    for epoch in range(len(history) + 1, budget.epochs + 1):
        epoch_started = time.perf_counter()
        metrics: dict[str, float] = {"epoch": epoch}
        metrics.update(loop.train_epoch(epoch, splits.train))
        metrics.update(loop.evaluate(splits.val))
        metrics["epoch_time_s"] = time.perf_counter() - epoch_started
        history.append(metrics)
        metrics.update(signal_values(history))
        if on_checkpoint is not None:
            wall = earlier + time.perf_counter() - started
            on_checkpoint(_snapshot(loop, splits, history, wall))
        if on_epoch is not None and on_epoch(dict(metrics)) is True:
            stopped = epoch < budget.epochs
            break
    wall = earlier + time.perf_counter() - started
    final = _final(spec, proxy, budget, splits, history, wall, stopped)
    memory = device_memory_mb(target)
    if memory is not None:
        final["device_memory_mb"] = memory
        final["device_total_mb"] = torch.cuda.get_device_properties(target).total_memory / 2**20
    return final


def device_memory_mb(device: torch.device) -> float | None:
    """Peak memory this run allocated on ``device`` in MiB (``None`` on a CPU): what a trial
    really needs of a GPU it shares with others (``[resources] gpus_per_trial = 1/k``)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def prepare_run(
    spec: ArchSpec,
    data: DataConfig,
    budget: ProxyBudget,
    device: torch.device,
    resume: TrainState | None = None,
    *,
    channels_last: bool | None = None,
) -> tuple[Proxy, Splits, Loop]:
    """What :func:`train_proxy` trains, before its first epoch: the proxy, its data and its
    loop (seeded by ``budget.seed``; at ``resume``'s state when given). ``channels_last``
    (``None``: on CUDA only) lays out the model and its batches channels-last, the layout of
    cuDNN's fastest bf16 convolutions; ``bench/gpu.py`` measures it both ways."""
    layout = device.type == "cuda" if channels_last is None else channels_last
    proxy = plan_proxy(spec, data, budget)
    splits = _load(data, budget, proxy, device, layout)
    return proxy, splits, _build_loop(proxy.spec, budget, splits, device, resume, layout)


def _load(
    data: DataConfig, budget: ProxyBudget, proxy: Proxy, device: torch.device, layout: bool
) -> Splits:
    return load_splits(
        data,
        train_samples=budget.train_samples,
        val_samples=budget.val_samples,
        input_size=proxy.spec.input_size,
        batch_size=budget.batch_size,
        augment=budget.augment,
        seed=budget.seed,
        device=device,
        channels_last=layout,
    )


def to_channels_last(model: nn.Module) -> nn.Module:
    """``model`` with every 4-D parameter and buffer laid out channels-last, in place.

    ``model.to(memory_format=torch.channels_last)`` refuses a model holding any parameter of
    another rank ("required rank 4 tensor"): CondConv's ``(experts, out, in, k, k)`` kernel
    bank is one, so the plain call failed every such trial on CUDA. Convolutions take their
    weights' layout from here and their inputs' from the batches (``workers.batches``).
    """
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            if tensor.dim() == 4:
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
    return model


def _build_loop(
    spec: ArchSpec,
    budget: ProxyBudget,
    splits: Splits,
    device: torch.device,
    resume: TrainState | None,
    channels_last: bool,
) -> Loop:
    torch.manual_seed(budget.seed)
    model = build_model(spec)
    if channels_last:
        to_channels_last(model)
    model = model.to(device)
    optimizer = make_optimizer(model, budget)
    schedule = make_schedule(optimizer, budget, len(splits.train))
    if resume is not None:
        model.load_state_dict(resume.model)
        optimizer.load_state_dict(resume.optimizer)
        schedule.load_state_dict(resume.schedule)
        generator = splits.train.generator
        assert generator is not None, "training batches have no generator"
        generator.set_state(resume.generator)
    return Loop(spec, model, optimizer, schedule, budget, device, compiled=_compiled(model, budget))


def _compiled(model: nn.Module, budget: ProxyBudget) -> nn.Module | None:
    """``torch.compile(model)`` when ``budget.compile``. Dynamo's caches are cleared first: a
    reused worker trains many architectures in turn, and their graphs would pile up until
    dynamo's recompile limit silently sent later trials back to eager mode (inductor's
    on-disk kernel cache still serves what an earlier trial compiled)."""
    if not budget.compile:
        return None
    torch.compiler.reset()
    return cast(nn.Module, torch.compile(model))


def _snapshot(
    loop: Loop, splits: Splits, history: list[dict[str, float]], wall: float
) -> TrainState:
    generator = splits.train.generator
    assert generator is not None, "training batches have no generator"
    return TrainState(
        epoch=len(history),
        model={k: v.detach().to("cpu", copy=True) for k, v in loop.model.state_dict().items()},
        optimizer=copy.deepcopy(loop.optimizer.state_dict()),
        schedule=copy.deepcopy(loop.schedule.state_dict()),
        generator=generator.get_state(),
        history=[dict(m) for m in history],
        wall_time_s=wall,
    )


def _final(
    spec: ArchSpec,
    proxy: Proxy,
    budget: ProxyBudget,
    splits: Splits,
    history: list[dict[str, float]],
    wall: float,
    stopped: bool,
) -> dict[str, Any]:
    cost = count_cost(spec)
    accuracies = [m["val_accuracy"] for m in history]
    scale = {
        k: getattr(proxy.spec, k) for k in ("width", "input_size", "in_channels", "num_classes")
    }
    return {
        **(signal_values(history) if history else {}),
        "best_val_accuracy": max(accuracies, default=0.0),
        "last_val_accuracy": accuracies[-1] if accuracies else 0.0,
        "val_accuracy": accuracies[-1] if accuracies else 0.0,
        "epochs_trained": len(history),
        "wall_time_s": wall,
        "params": cost.params,
        "macs": cost.macs,
        "stopped_early": stopped,
        "proxy": {
            **budget.to_dict(),
            **scale,
            "train_samples": splits.train.num_samples,
            "val_samples": splits.val.num_samples,
            "notes": "; ".join(proxy.notes),
        },
    }
