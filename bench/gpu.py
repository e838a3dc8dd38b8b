"""Proxy training on one GPU: per trial, per card, against a bare loop (issue 26).

    .venv/bin/python bench/gpu.py [--device cuda|cpu] [--proxies resnet20-se,resnet50-se-64px]
        [--seconds 5] [--trials 1,2,4,8]
        [--batch-sizes 256] [--compile] [--replicas 2,4] [--budget-s 330]
        [--parts ratio,packing,levers,replicas,mps] [--train-samples N]
        [--markdown F.md] [--json F.json]

Two proxies: the default search's spec (resnet20, SE in every stage) at the default
``ProxyBudget`` (width 0.5, 28 px Fashion-MNIST, batch 64), and resnet50 with SE in every
stage at full width and 64 px (Fashion-MNIST resized on load). For each:

1. **worker vs bare**: the worker's loop (``workers.loop.Loop`` over its on-device uint8
   splits: normalisation, augmentation, label smoothing, schedule, NaN checks, bf16 autocast
   on CUDA) against the plainest loop on the same device in the same process (pre-normalised
   float tensors, forward, cross-entropy, backward, SGD), in rounds of one pass each, order
   alternating; the median of the per-round ratios. Peak device memory of one trial
   (``torch.cuda.max_memory_allocated``, data included, as a trial records it).
2. **trials per GPU**: k processes (``--trials``) each train the worker's loop on the one
   device at once, as k trials under ``gpus_per_trial = 1/k`` do (Ray only sets
   ``CUDA_VISIBLE_DEVICES``; the card sees k processes either way): images/s per trial, for
   the card, and the largest peak memory of a trial (``bench/gpu_packing.py``).
3. **levers**: channels-last flipped (on is the CUDA default, off the CPU's), each
   ``--batch-sizes`` batch, and with ``--compile`` ``[proxy] compile = true`` (its first
   epoch holds the compile time) and, on CUDA, ``torch.compile(mode="reduce-overhead")``
   (CUDA graphs: one replay per step instead of a launch per kernel).
4. **seed replicas**: k seeds of the spec (``--replicas``) trained together in one process,
   one vmapped step for all (``bench/gpu_replicas.py``), against k processes training at once
   (the packing row of the same k, measured here if the packing part has not).
5. **mps**: the trials-per-GPU rows of more than one trial again, under a CUDA MPS daemon
   this run starts and stops (``bench/gpu_mps.py``; skipped, and said, where the machine has
   no ``nvidia-cuda-mps-control``).

``--parts`` picks which of the five to measure (in that order), so a second run can measure
the levers, replicas and MPS a first, time-bounded run skipped; ``levers`` then measures the
default row it compares against.

Every measurement trains for ``--seconds`` after one warm-up epoch (bounded by time, not by a
count of steps), and once ``--budget-s`` has passed the remaining ones are skipped and say
so. A measurement that raises is recorded as failed and the exit status is 1. A smoke test
on a CPU: ``--device cpu --seconds 0.2 --train-samples 128 --trials 1,2``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from gpu_loops import bare_rate, worker_rate
from gpu_mps import CONTROL, mps_daemon
from gpu_packing import packed
from gpu_replicas import replicas_rate
from gpu_table import markdown

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig

SE = {"block": "se"}
PARTS = ("ratio", "packing", "levers", "replicas", "mps")

PROXIES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "resnet20-se": (  # the default search's spec at the default proxy
        {"backbone": "resnet20", "stages": [SE, SE, SE]},
        {},
    ),
    "resnet50-se-64px": (
        {"backbone": "resnet50", "stages": [SE, SE, SE, SE]},
        {"width": None, "input_size": 64},
    ),
}
"""``label -> (spec dict, ProxyBudget fields over the defaults)``."""


class Clock:
    """The run's time budget: once spent, measurements are skipped (and say so)."""

    def __init__(self, budget_s: float) -> None:
        self.started, self.budget_s = time.perf_counter(), budget_s
        self.failed = False

    def run(self, what: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if time.perf_counter() - self.started > self.budget_s:
            print(f"  {what}: skipped (--budget-s {self.budget_s:g} spent)", flush=True)
            return {"skipped": f"--budget-s {self.budget_s:g} spent"}
        try:
            result = measure()
        except KeyboardInterrupt:  # `timeout -s INT`: keep what was measured, skip the rest
            self.failed, self.budget_s = True, 0.0
            print(f"  {what}: interrupted", flush=True)
            return {"failed": "interrupted (SIGINT: out of time)"}
        except Exception as exc:
            self.failed = True
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            print(f"  {what}: FAILED {reason}", flush=True)
            return {"failed": reason}
        print(f"  {what}: {json.dumps(result)}", flush=True)
        return result


Proxies = dict[str, tuple[ArchSpec, ProxyBudget]]


def measure(
    proxies: Proxies, data: DataConfig, args: argparse.Namespace, clock: Clock
) -> dict[str, dict[str, Any]]:
    """Every proxy's numbers in ``args.parts``, most wanted first (the ratio, then packing,
    the levers, the replicas, MPS), so a spent ``--budget-s`` skips the last ones first."""
    device = torch.device(args.device)
    out: dict[str, dict[str, Any]] = {
        label: {"batch_size": budget.batch_size, "ratio": {}, "levers": {}, "packing": {}}
        for label, (_, budget) in proxies.items()
    }
    if "ratio" in args.parts:
        for label, (spec, budget) in proxies.items():
            out[label]["ratio"] = clock.run(
                f"{label}: worker vs bare", partial(_ratio, spec, budget, data, device, args)
            )
    if "packing" in args.parts:
        for label, (spec, budget) in proxies.items():
            for k in args.trials:
                out[label]["packing"][k] = clock.run(
                    f"{label}: {k} trials", partial(packed, spec, budget, data, args, k)
                )
    if "levers" in args.parts:
        for label, (spec, budget) in proxies.items():
            out[label]["levers"] = _levers(spec, budget, data, args, clock, label)
    if "replicas" in args.parts:
        for label, (spec, budget) in proxies.items():
            packing = out[label]["packing"]
            out[label]["replicas"] = _replicas(spec, budget, data, args, clock, label, packing)
    if "mps" in args.parts:
        _under_mps(proxies, data, args, clock, out)
    return out


def _under_mps(
    proxies: Proxies,
    data: DataConfig,
    args: argparse.Namespace,
    clock: Clock,
    out: dict[str, dict[str, Any]],
) -> None:
    """``out[label]["mps"][k]``: the packing of ``k > 1`` trials under one MPS daemon, and
    before it the packing rows without MPS that this run has not measured yet."""
    ks = [k for k in args.trials if k > 1]
    why = "a CPU run" if args.device != "cuda" else None
    if why is None and shutil.which(CONTROL) is None:
        why = f"no {CONTROL} on this machine"
    for label in proxies:
        out[label]["mps"] = {k: {"skipped": why} for k in ks} if why else {}
    if why:
        print(f"  mps: skipped ({why})", flush=True)
        return
    for label, (spec, budget) in proxies.items():
        for k in ks:
            _packing_row(spec, budget, data, args, clock, label, out[label]["packing"], k)
    try:
        with mps_daemon():
            for label, (spec, budget) in proxies.items():
                for k in ks:
                    out[label]["mps"][k] = clock.run(
                        f"{label}: {k} trials under MPS",
                        partial(packed, spec, budget, data, args, k),
                    )
    except RuntimeError as exc:  # the daemon did not start
        clock.failed = True
        print(f"  mps: FAILED {exc}", flush=True)
        for label in proxies:
            out[label]["mps"] = {k: {"failed": str(exc)} for k in ks}


def _levers(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    args: argparse.Namespace,
    clock: Clock,
    label: str,
) -> dict[str, dict[str, Any]]:
    """The worker loop with one thing changed from what a trial does on this device."""
    device, seconds = torch.device(args.device), args.seconds
    flipped = device.type != "cuda"  # channels-last is the CUDA default, off on a CPU
    changed: dict[str, Callable[[], dict[str, Any]]] = {}
    if "ratio" not in args.parts:  # what the levers are compared with
        changed["default"] = partial(worker_rate, spec, budget, data, device, seconds)
    changed[f"channels_last {'on' if flipped else 'off'}"] = lambda: worker_rate(
        spec, budget, data, device, seconds, channels_last=flipped
    )
    for batch in args.batch_sizes:
        bigger = dataclasses.replace(budget, batch_size=batch)
        changed[f"batch {batch}"] = partial(worker_rate, spec, bigger, data, device, seconds)
    if args.compile:
        compiled = dataclasses.replace(budget, compile=True)
        changed["compile"] = lambda: worker_rate(spec, compiled, data, device, seconds)
        if device.type == "cuda":
            changed["compile reduce-overhead (CUDA graphs)"] = partial(
                worker_rate, spec, budget, data, device, seconds, compile_mode="reduce-overhead"
            )
    return {lever: clock.run(f"{label}: {lever}", run) for lever, run in changed.items()}


def _replicas(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    args: argparse.Namespace,
    clock: Clock,
    label: str,
    packing: dict[int, dict[str, Any]],
) -> dict[int, dict[str, Any]]:
    """``k -> images/s of k seeds together``; the packing row of each such k that this run
    has not measured yet goes into ``packing``, which the table compares them with."""
    device = torch.device(args.device)
    together: dict[int, dict[str, Any]] = {}
    for k in args.replicas:
        together[k] = clock.run(
            f"{label}: {k} seeds together",
            partial(replicas_rate, spec, budget, data, device, args.seconds, k),
        )
        _packing_row(spec, budget, data, args, clock, label, packing, k)
    return together


def _packing_row(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    args: argparse.Namespace,
    clock: Clock,
    label: str,
    packing: dict[int, dict[str, Any]],
    k: int,
) -> None:
    """``packing[k]``, measured unless this run has it already."""
    if k not in packing:
        packing[k] = clock.run(f"{label}: {k} trials", partial(packed, spec, budget, data, args, k))


def _ratio(
    spec: ArchSpec,
    budget: ProxyBudget,
    data: DataConfig,
    device: torch.device,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Rounds of (worker, bare) or (bare, worker) passes; median per-round ratio."""
    worker, bare, ratios = [], [], []
    for round_ in range(args.rounds):
        first_worker = round_ % 2 == 0
        pair: dict[str, dict[str, Any]] = {}
        for side in ("worker", "bare") if first_worker else ("bare", "worker"):
            if side == "worker":
                pair[side] = worker_rate(spec, budget, data, device, args.seconds)
            else:
                pair[side] = bare_rate(spec, budget, data, device, args.seconds)
        worker.append(pair["worker"])
        bare.append(pair["bare"])
        ratios.append(pair["worker"]["images_per_s"] / pair["bare"]["images_per_s"])
    return {
        "worker_images_per_s": statistics.median(r["images_per_s"] for r in worker),
        "bare_images_per_s": statistics.median(r["images_per_s"] for r in bare),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "peak_mb": max(r["peak_mb"] or 0.0 for r in worker) if device.type == "cuda" else None,
        "bare_peak_mb": max(r["peak_mb"] or 0.0 for r in bare) if device.type == "cuda" else None,
        "first_epoch_s": worker[0]["first_epoch_s"],
    }


def environment(device: str) -> dict[str, Any]:
    cuda = device == "cuda"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "command": " ".join(sys.argv),
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: use --device cpu", file=sys.stderr)
        return 2
    if args.device == "cpu":
        torch.set_num_threads(1)
    clock, data = Clock(args.budget_s), DataConfig(data_dir=args.data_dir)
    report: dict[str, Any] = {"environment": environment(args.device), "seconds": args.seconds}
    proxies: Proxies = {}
    for label in args.proxies:
        if label not in PROXIES:
            print(f"--proxies: unknown {label!r}; known: {', '.join(PROXIES)}", file=sys.stderr)
            return 2
        spec_dict, fields = PROXIES[label]
        budget = dataclasses.replace(ProxyBudget(device=args.device), **fields)
        if args.train_samples:
            budget = dataclasses.replace(budget, train_samples=args.train_samples)
        proxies[label] = (ArchSpec.from_dict(spec_dict), budget)
    report["proxies"] = measure(proxies, data, args, clock)
    report["wall_s"] = time.perf_counter() - clock.started
    table = markdown(report)
    print(table)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if clock.failed else 0


def _numbers(kind: type) -> Callable[[str], list[Any]]:
    return lambda text: [kind(v) for v in text.split(",") if v]


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


def _parts(text: str) -> list[str]:
    parts = _names(text)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or text!r}: known {', '.join(PARTS)}"
        )
    return parts


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--proxies", type=_names, default=list(PROXIES), help=", ".join(PROXIES))
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="worker/bare rounds")
    parser.add_argument("--trials", type=_numbers(int), default=[1, 2, 4, 8])
    parser.add_argument("--batch-sizes", type=_numbers(int), default=[256])
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile")
    parser.add_argument("--replicas", type=_numbers(int), default=[2, 4], help="seeds together")
    parser.add_argument("--parts", type=_parts, default=list(PARTS), help=", ".join(PARTS))
    parser.add_argument("--budget-s", type=float, default=330.0, help="skip what starts later")
    parser.add_argument("--train-samples", type=int, default=0, help="0: the budget's")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST folder")
    parser.add_argument("--markdown", default=None, help="write the table here")
    parser.add_argument("--json", default=None, help="write every number here")
    return parser


if __name__ == "__main__":
    sys.exit(main())
