"""Training images/s of blocks at the search's default proxy, against the plain ResNet-20.

    nice -n 19 .venv/bin/python bench/block_speed.py --blocks stn,psa [--threads 1]
        [--out docs/block-speed.json] [--docs docs/blocks.md] [--rounds 3] [--steps 3]

MACs hide what a block costs on a small CPU (``grid_sample``, softmaxes over (HW)^2 logits,
unfold copies and element-wise work are free in the cost model), so this measures it. For each
block: resnet20 with the block in every stage where it is legal, at its natural insertion
point and default parameters, rescaled to the search's default proxy (width 0.5, 28x28 grey
Fashion-MNIST-shaped inputs, 10 classes, batch 128; ``workers.proxy.make_proxy``, so a width
is raised where a divisor needs it, as the search would). One training step is forward,
cross-entropy, backward and an SGD (momentum 0.9) step on synthetic images. After
``--warmup`` steps of each model, ``--rounds`` rounds each time ``--steps`` steps of the plain
network and ``--steps`` of the block's, alternating which goes first; the reported ratio is the
median of the per-round ratios, so load on a shared machine hits both sides alike.

Results merge into ``--out`` (one entry per block; a re-run replaces only the blocks it
measured) and ``docs/blocks.md`` is regenerated from it (its "Measured speed" section).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from searchspace.build import build_model
from searchspace.catalog import block_info
from searchspace.cost import Cost, module_cost
from searchspace.docs import SPEED_FILE, catalog_markdown
from searchspace.spec import ArchSpec
from workers.proxy import make_proxy

CPU = torch.device("cpu")
BACKBONE = "resnet20"
WIDTH, SIZE, CHANNELS, CLASSES, BATCH = 0.5, 28, 1, 10, 128


def block_spec(name: str) -> ArchSpec:
    """resnet20 with ``name`` (defaults, natural position) in every stage that allows it."""
    info = block_info(name)
    stage = {"block": name, "position": info.positions[0]}
    base: dict[str, Any] = {"backbone": BACKBONE}
    num_stages = ArchSpec.from_dict(base).info.num_stages
    stages: list[dict[str, Any]] = []
    for index in range(num_stages):
        trial = [*stages, stage, *[{}] * (num_stages - index - 1)]
        try:
            ArchSpec.from_dict({**base, "stages": trial})
        except ValueError:
            stages.append({})
        else:
            stages.append(stage)
    full = ArchSpec.from_dict({**base, "stages": stages})
    proxy = make_proxy(
        full, width=WIDTH, input_size=SIZE, in_channels=CHANNELS, num_classes=CLASSES
    )
    return proxy.spec


def proxy_cost(spec: ArchSpec) -> Cost:
    """Cost of the proxy as built (a proxy is not re-validated: blocks clamp their widths)."""
    with torch.device("meta"):
        model = build_model(spec)
    return module_cost(model, (1, spec.in_channels, spec.input_size, spec.input_size))


def stepper(
    model: nn.Module,
    device: torch.device = CPU,
    batch: int = BATCH,
    autocast: bool = False,
) -> Callable[[], None]:
    """One training step of ``model`` (in train mode) on a fixed synthetic batch: forward
    (under bf16 autocast if asked; channels-last input on CUDA, as a trial's), cross-entropy,
    backward, SGD with momentum."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, CHANNELS, SIZE, SIZE, generator=generator).to(device)
    y = torch.randint(0, CLASSES, (batch,), generator=generator).to(device)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def timed(step: Callable[[], None], steps: int, device: torch.device = CPU) -> float:
    """Seconds for ``steps`` calls of ``step``, the device synchronised before each clock read."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def measure(name: str, *, warmup: int, rounds: int, steps: int) -> dict[str, Any]:
    """One block against the plain network in the same process; see the module docstring."""
    spec = block_spec(name)
    torch.manual_seed(0)
    models = {"plain": build_model(spec.without_attention()), "block": build_model(spec)}
    steppers = {side: stepper(model) for side, model in models.items()}
    for step in steppers.values():
        timed(step, warmup)
    seconds: dict[str, list[float]] = {"plain": [], "block": []}
    for round_index in range(rounds):
        order = ("plain", "block") if round_index % 2 == 0 else ("block", "plain")
        for side in order:
            seconds[side].append(timed(steppers[side], steps))
    ratios = [plain / block for plain, block in zip(seconds["plain"], seconds["block"])]
    images = BATCH * steps
    cost, plain_cost = proxy_cost(spec), proxy_cost(spec.without_attention())
    return {
        "layout": " ".join(stage.label() for stage in spec.stages),
        "width": spec.width,
        "macs": cost.macs,
        "plain_macs": plain_cost.macs,
        "params": cost.params,
        "images_per_s": round(images / statistics.median(seconds["block"]), 1),
        "plain_images_per_s": round(images / statistics.median(seconds["plain"]), 1),
        "ratio": round(statistics.median(ratios), 3),
    }


def cpu_name() -> str:
    """The CPU model as Linux names it (``platform.processor()`` is often empty there)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def merge(path: Path, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``path``'s entries with ``results`` replacing the blocks they name."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    blocks = {**data.get("blocks", {}), **results}
    return {"blocks": dict(sorted(blocks.items()))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", required=True, help="comma-separated registry names")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=SPEED_FILE)
    parser.add_argument("--docs", default="docs/blocks.md", help="page to regenerate ('' skips)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.blocks.split(",") if n.strip() and n.strip() != "none"]
    for name in names:
        block_info(name)
    torch.set_num_threads(args.threads)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    machine = {
        "date": when,
        "threads": args.threads,
        "torch": torch.__version__.split("+")[0],
        "cpu": cpu_name(),
    }
    results = {}
    for name in names:
        started = time.perf_counter()
        entry = measure(name, warmup=args.warmup, rounds=args.rounds, steps=args.steps)
        results[name] = {**entry, **machine}
        print(
            f"{name:20s} {entry['images_per_s']:8.1f} img/s, "
            f"plain {entry['plain_images_per_s']:.1f} img/s, ratio {entry['ratio']:.3f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    args.out.write_text(json.dumps(merge(args.out, results), indent=1) + "\n")
    if args.docs:
        Path(args.docs).write_text(catalog_markdown(speed_file=args.out))
        print(f"wrote {args.out} and {args.docs}")


if __name__ == "__main__":
    main()
