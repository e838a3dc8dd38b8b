"""Training speed of each block's CPU-training path against its paper form, on one device.

    .venv/bin/python bench/block_paths.py [--device cpu|cuda] [--blocks mhsa,psa]
        [--batch 128] [--warmup 2] [--rounds 3] [--steps 3] [--threads 1]
        [--autocast | --no-autocast] [--markdown F.md] [--json F.json]

Six blocks (``searchspace.blocks.cpu_path.BLOCKS``) compute the same values another way when
they train on a CPU, because that is faster there (docs/performance.md, "Slow blocks on the
CPU"). On CUDA they keep the paper's form, since nobody has measured the other there. This
bench measures it: for each block, the network ``bench/block_speed.py`` times (resnet20 with
the block in every stage where it is legal, at the search's default proxy scale) trains on
synthetic 28 x 28 batches once with the paper's form and once with the CPU-training path
(``cpu_path.forced``), in rounds of ``--steps`` steps each, order alternating, on the same
model. It reports the images/s of both, the median of the per-round ratios path / paper, and
on CUDA each side's peak memory. On CUDA a step is what a trial's is: channels-last tensors
and the forward under bf16 autocast (``--no-autocast`` turns that off).

A ratio above 1 says the path pays on that device. The blocks where it pays on CUDA, by a
margin the rounds' range clears, are the ones to give the path there. A block that fails
(e.g. no torchvision for ``deform``) is recorded as failed; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from block_speed import BATCH, block_spec, stepper, timed

from searchspace.blocks.cpu_path import BLOCKS, forced
from searchspace.build import build_model
from workers.train import to_channels_last

SIDES = ("paper", "path")


def timed_path(step: Callable[[], None], steps: int, path: bool, device: torch.device) -> float:
    """Seconds for ``steps`` steps with the CPU-training path on (``path``) or off."""
    with forced(path):
        return timed(step, steps, device)


def measure(name: str, device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    """One block's paper form against its path; see the module docstring."""
    spec = block_spec(name)
    torch.manual_seed(0)
    model = build_model(spec)
    if device.type == "cuda":
        to_channels_last(model)
    model = model.to(device).train()
    step = stepper(model, device, args.batch, args.autocast)
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    peak: dict[str, float | None] = dict.fromkeys(SIDES)
    for side in SIDES:  # warm-up: cuDNN's choices, the allocator; and each side's peak
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        timed_path(step, args.warmup, side == "path", device)
        if device.type == "cuda":
            peak[side] = torch.cuda.max_memory_allocated(device) / 2**20
    for round_index in range(args.rounds):
        order = SIDES if round_index % 2 == 0 else SIDES[::-1]
        for side in order:
            seconds[side].append(timed_path(step, args.steps, side == "path", device))
    ratios = [paper / path for paper, path in zip(seconds["paper"], seconds["path"])]
    images = args.batch * args.steps
    return {
        "stages": [i for i, stage in enumerate(spec.stages) if stage.block != "none"],
        "paper_images_per_s": round(images / statistics.median(seconds["paper"]), 1),
        "path_images_per_s": round(images / statistics.median(seconds["path"]), 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "paper_peak_mb": peak["paper"],
        "path_peak_mb": peak["path"],
    }


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"Block paths on {env['device']} ({env['date']}, torch {env['torch']}, batch "
        f"{env['batch']}, autocast {'bf16' if env['autocast'] else 'off'}, {env['rounds']} "
        f"rounds of {env['steps']} steps): `{env['command']}`",
        "",
        "| block | stages | paper img/s | path img/s | path / paper | range "
        "| peak MiB paper / path |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for name, row in report["blocks"].items():
        if "failed" in row:
            lines.append(f"| {name} | failed: {row['failed']} | | | | | |")
            continue
        low, high = row["ratio_range"]
        peaks = (
            f"{row['paper_peak_mb']:.0f} / {row['path_peak_mb']:.0f}"
            if row["paper_peak_mb"] is not None
            else "-"
        )
        lines.append(
            f"| {name} | {','.join(map(str, row['stages']))} | {row['paper_images_per_s']:.1f} | "
            f"{row['path_images_per_s']:.1f} | **{row['ratio']:.2f}x** | "
            f"{low:.2f}-{high:.2f} | {peaks} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: use --device cpu", file=sys.stderr)
        return 2
    if args.autocast is None:
        args.autocast = device.type == "cuda"
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    unknown = sorted(set(args.blocks) - set(BLOCKS))
    if unknown:
        print(
            f"--blocks: {', '.join(unknown)} has no CPU-training path; those that do: "
            f"{', '.join(BLOCKS)}",
            file=sys.stderr,
        )
        return 2
    report: dict[str, Any] = {
        "environment": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "cuda": torch.version.cuda if device.type == "cuda" else None,
            **{key: getattr(args, key) for key in ("batch", "autocast", "rounds", "steps")},
            "command": " ".join(["bench/block_paths.py", *(argv or sys.argv[1:])]),
        },
        "blocks": {},
    }
    failed = False
    for name in args.blocks:
        started = time.perf_counter()
        try:
            row = measure(name, device, args)
        except Exception as exc:
            failed = True
            row = {"failed": f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"}
        report["blocks"][name] = row
        print(f"{name}: {json.dumps(row)} ({time.perf_counter() - started:.0f} s)", flush=True)
    table = markdown(report)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda")
    parser.add_argument(
        "--blocks", type=lambda s: [n for n in s.split(",") if n], default=list(BLOCKS)
    )
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")
    parser.add_argument(
        "--autocast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast of the forward (default: on for CUDA, as trials do)",
    )
    parser.add_argument("--markdown", default=None, help="write the table here")
    parser.add_argument("--json", default=None, help="write every number here")
    return parser


if __name__ == "__main__":
    sys.exit(main())
