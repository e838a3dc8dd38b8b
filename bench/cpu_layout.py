"""Channels-last against the default layout for CPU training, block by block (run by hand).

    .venv/bin/python bench/cpu_layout.py [--rounds 3] [--steps 8] [--blocks se,cbam]
        [--json out.json]

The workers lay out the model and its batches channels-last on CUDA only
(``workers.train.prepare_run``). oneDNN's CPU convolutions also have channels-last kernels, so
the same layout may train faster on the CPU machines most users search on; attention blocks
that reshape or transpose maps may instead pay for conversions. This measures it where the
search trains: one thread (a trial reserves one CPU), the default proxy's model (resnet20 at
width 0.5, 28x28 Fashion-MNIST-shaped input, batch 64), the block at its first legal position
in every stage, training steps (forward, cross-entropy, backward, SGD with momentum). Each
round times both layouts, in alternating order, on a freshly built model; the ratio is the
median of the per-round ratios, so a shared machine's load favours neither side. The plain
network (``none``) is the first row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from searchspace.blocks import registered_blocks
from searchspace.build import build_model
from searchspace.examples import block_everywhere
from searchspace.spec import ArchSpec
from workers.train import to_channels_last


def images_per_s(spec: ArchSpec, channels_last: bool, steps: int, batch: int = 64) -> float:
    """Training images/s of ``steps`` steps after two warm-up steps."""
    torch.manual_seed(0)
    model = build_model(spec).train()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    if channels_last:
        to_channels_last(model)  # the worker's own layout call
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def measure(name: str, rounds: int, steps: int) -> dict[str, Any]:
    spec = block_everywhere(name)
    default, last, ratios = [], [], []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        got = {layout: images_per_s(spec, layout, steps) for layout in order}
        default.append(got[False])
        last.append(got[True])
        ratios.append(got[True] / got[False])
    return {
        "block": name,
        "width": spec.width,
        "default_img_s": statistics.median(default),
        "channels_last_img_s": statistics.median(last),
        "ratio": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--blocks", help="comma-separated blocks (default: every one)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.blocks.split(",") if args.blocks else sorted(registered_blocks())
    names = ["none", *[n for n in names if n != "none"]]
    rows = []
    print("| block | default img/s | channels-last img/s | ratio (median) | range |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        row = measure(name, args.rounds, args.steps)
        rows.append(row)
        low, high = row["ratio_range"]
        print(
            f"| `{name}` | {row['default_img_s']:.0f} | {row['channels_last_img_s']:.0f} | "
            f"{row['ratio']:.2f}x | {low:.2f}-{high:.2f} |",
            flush=True,
        )
    ratios = [row["ratio"] for row in rows]
    print(f"median over blocks: {statistics.median(ratios):.2f}x, min {min(ratios):.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
