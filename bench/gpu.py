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
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from gpu_parts import Bench, Clock, Proxies
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


def measure(proxies: Proxies, bench: Bench) -> dict[str, dict[str, Any]]:
    """Every proxy's numbers in ``--parts``, most wanted first (the ratio, then packing, the
    levers, the replicas, MPS), so a spent ``--budget-s`` skips the last ones first."""
    parts = bench.args.parts
    out: dict[str, dict[str, Any]] = {
        label: {"batch_size": budget.batch_size, "ratio": {}, "levers": {}, "packing": {}}
        for label, (_, budget) in proxies.items()
    }
    if "ratio" in parts:
        for label, (spec, budget) in proxies.items():
            out[label]["ratio"] = bench.ratio(label, spec, budget)
    if "packing" in parts:
        for label, (spec, budget) in proxies.items():
            for k in bench.args.trials:
                bench.packing_row(label, spec, budget, out[label]["packing"], k)
    if "levers" in parts:
        for label, (spec, budget) in proxies.items():
            out[label]["levers"] = bench.levers(label, spec, budget)
    if "replicas" in parts:
        for label, (spec, budget) in proxies.items():
            out[label]["replicas"] = bench.replicas(label, spec, budget, out[label]["packing"])
    if "mps" in parts:
        bench.under_mps(proxies, out)
    return out


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
    report["proxies"] = measure(proxies, Bench(data, args, clock))
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
