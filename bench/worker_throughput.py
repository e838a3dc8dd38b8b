"""Worker throughput vs a bare PyTorch loop, and time to a usable proxy signal (run by hand).

    .venv/bin/python bench/worker_throughput.py [--rounds 12] [--images 1536] [--threads N]
        [--skip-signal] [--json out.json]

1. Throughput: the same proxy model (resnet20 at width 0.5, 28x28 Fashion-MNIST), the same
   in-memory training images and batch size, trained in pairs of passes (order alternating
   pair by pair) of a bare loop (pre-normalised float tensors, forward, cross-entropy,
   backward, SGD step) and the worker's loop (``workers.loop.Loop`` over ``TensorBatches``:
   normalisation, augmentation, label smoothing, LR schedule, NaN checks). The median of the
   per-pair ratios keeps a noisy, shared machine from favouring either side. Reports
   images/s and the worker/bare ratio.
2. Time to signal: ``train_proxy`` with the default ``ProxyBudget`` on the default spec, with
   per-epoch validation accuracy and where the wall time goes (loading, training, evaluation),
   plus the top operators of a profiled training step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from searchspace.build import build_model
from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.loop import Loop
from workers.proxy import make_proxy
from workers.recipe import make_optimizer, make_schedule
from workers.splits import load_splits
from workers.train import train_proxy

SPEC = {"backbone": "resnet20", "stages": [{"block": "se"}, {"block": "se"}, {"block": "se"}]}


def bare_epoch(
    model: torch.nn.Module, x_all: torch.Tensor, y_all: torch.Tensor, batch: int
) -> float:
    """One epoch of the plainest loop on pre-normalised tensors; returns images/s."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    order = torch.randperm(x_all.shape[0])
    steps = x_all.shape[0] // batch
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        index = order[step * batch : (step + 1) * batch]
        loss = F.cross_entropy(model(x_all[index]), y_all[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - started)


def throughput(rounds: int, augment: bool, budget: ProxyBudget, images: int) -> dict[str, Any]:
    """Pairs of one bare and one worker pass over ``images`` training images, order alternated.

    The per-pair ratio cancels slow drifts of a shared machine's load; its median is reported.
    """
    spec = ArchSpec.from_dict(SPEC)
    proxy = make_proxy(spec, width=budget.width, input_size=28, in_channels=1, num_classes=10).spec
    splits = load_splits(
        DataConfig(),
        train_samples=images,
        val_samples=256,
        input_size=28,
        batch_size=budget.batch_size,
        augment=augment,
        seed=0,
        device=torch.device("cpu"),
    )
    train = splits.train
    x_all = train.normalize(train.images)  # type: ignore[attr-defined]
    y_all = train.labels  # type: ignore[attr-defined]
    torch.manual_seed(0)
    bare_model, worker_model = build_model(proxy), build_model(proxy)
    optimizer = make_optimizer(worker_model, budget)
    schedule = make_schedule(optimizer, budget, len(train) * (rounds + 1))
    loop = Loop(proxy, worker_model, optimizer, schedule, budget, torch.device("cpu"))
    bare_epoch(bare_model, x_all, y_all, budget.batch_size)  # warm-up both
    loop.train_epoch(0, train)
    bare, worker = [], []
    for r in range(rounds):
        if r % 2 == 0:
            bare.append(bare_epoch(bare_model, x_all, y_all, budget.batch_size))
            worker.append(loop.train_epoch(r + 1, train)["images_per_s"])
        else:
            worker.append(loop.train_epoch(r + 1, train)["images_per_s"])
            bare.append(bare_epoch(bare_model, x_all, y_all, budget.batch_size))
    ratios = [w / b for w, b in zip(worker, bare, strict=True)]
    return {
        "augment": augment,
        "images_per_round": len(train) * budget.batch_size,
        "bare_images_per_s": statistics.median(bare),
        "worker_images_per_s": statistics.median(worker),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "bare_rounds": bare,
        "worker_rounds": worker,
    }


def time_to_signal(budget: ProxyBudget) -> dict[str, Any]:
    spec = ArchSpec.from_dict(SPEC)
    epochs: list[dict[str, float]] = []
    started = time.perf_counter()
    final = train_proxy(spec, DataConfig(), budget, on_epoch=epochs.append)
    wall = time.perf_counter() - started
    train_s = sum(
        final["proxy"]["train_samples"] // budget.batch_size * budget.batch_size / m["images_per_s"]
        for m in epochs
    )
    epoch_s = sum(m["epoch_time_s"] for m in epochs)
    return {
        "wall_time_s": wall,
        "train_s": train_s,
        "eval_s": epoch_s - train_s,
        "setup_s": wall - epoch_s,
        "val_accuracy_per_epoch": [m["val_accuracy"] for m in epochs],
        "best_val_accuracy": final["best_val_accuracy"],
        "proxy": final["proxy"],
    }


def top_ops(budget: ProxyBudget, steps: int = 4) -> list[tuple[str, float]]:
    """Operators with the most self CPU time over a few training steps (share of the total)."""
    from torch.profiler import ProfilerActivity, profile

    proxy = make_proxy(
        ArchSpec.from_dict(SPEC), width=budget.width, input_size=28, in_channels=1, num_classes=10
    ).spec
    model = build_model(proxy)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = torch.randn(budget.batch_size, 1, 28, 28), torch.randint(0, 10, (budget.batch_size,))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]
    return [(e.key, e.self_cpu_time_total / total) for e in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="bare/worker pairs")
    parser.add_argument("--images", type=int, default=1536, help="training images per pass")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--skip-signal", action="store_true", help="throughput only")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = ProxyBudget()
    load = os.getloadavg()
    result: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "loadavg_before": load,
        "budget": budget.to_dict(),
    }
    for augment in (False, True):
        t = throughput(args.rounds, augment, budget, args.images)
        result[f"throughput_augment_{str(augment).lower()}"] = t
        print(
            f"augment={augment}: bare {t['bare_images_per_s']:.0f} img/s, worker "
            f"{t['worker_images_per_s']:.0f} img/s, ratio {t['ratio']:.3f}",
            flush=True,
        )
    if not args.skip_signal:
        signal = time_to_signal(budget)
        result["time_to_signal"] = signal
        print(
            f"default proxy: {signal['wall_time_s']:.1f} s (setup {signal['setup_s']:.1f}, "
            f"train {signal['train_s']:.1f}, eval {signal['eval_s']:.1f}); val accuracy per "
            f"epoch {[round(a, 4) for a in signal['val_accuracy_per_epoch']]}",
            flush=True,
        )
    result["top_ops"] = top_ops(budget)
    for name, share in result["top_ops"]:
        print(f"  {share:6.1%}  {name}")
    result["loadavg_after"] = os.getloadavg()
    print(
        f"load average before {load[0]:.1f}, after {result['loadavg_after'][0]:.1f} "
        f"({os.cpu_count()} cores)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
