"""Evidence for ``docs/fidelity.md``: does a proxy rank architectures the way longer training does?

A NAS service sells a ranking, so the number the search optimises is worth what its rank
correlation with a higher-fidelity target is worth. This script trains a fixed set of specs
(``--specs`` drawn at random from the default search space, plus every reference design of
:mod:`nas.reference`) under several proxy configurations ("arms") and under one reference budget
with >= 10x the proxies' training images, each at ``--seeds`` seeds, and reports per arm and per
ranking signal:

- Kendall tau and Spearman rho against the reference accuracy (mean over its seeds), for one
  proxy seed and for the mean of the proxy's seeds (what averaging seeds would buy);
- the proxy's own seed-to-seed tau, and the reference's (its noise floor);
- the mean wall time of one proxy run and its ratio to the ``today`` arm (the pre-#11 default;
  the first arm listed when ``today`` is not run).

Signals read from one run's learning curve: the last and the best validation accuracy, the
negated final validation loss, and the negated sums of training losses of Ru et al., "Speedy
Performance Estimation for Neural Architecture Search", NeurIPS 2021 (SoTL: every epoch;
SoTL-E: the last epoch). The arms are the levers of EcoNAS (Zhou et al., CVPR 2020: more
samples and fewer epochs at the same cost) and the warm-up length.

The bench measures the product: its specs are the ones ``nas calibrate`` draws
(:func:`nas.calibrate.plan.draw_specs`), every run goes through :func:`workers.one_run.train_once`
(what ``nas confirm`` and ``nas calibrate`` send to Ray), and the statistics are
:mod:`nas.calibrate.stats` (``bench/fidelity_summary.py``). What is the bench's own: the arms,
the reference budget, the learning curves it keeps and the tables of ``docs/fidelity.md``.

Resumable: specs are drawn once into ``OUT/specs.json`` and every finished run is appended to
``OUT/runs.jsonl``; a rerun trains only what is missing (new arms included). At most two
training processes, one torch thread each. Run by hand (about an hour on 2 CPU cores)::

    .venv/bin/python bench/fidelity.py --out nas-results/fidelity \
        --markdown docs/fidelity-table.md --plot docs/img/fidelity.png

``--summary-only`` re-reads ``OUT`` without training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ARMS: dict[str, dict[str, Any]] = {
    "today": {  # the default before issue #11: the one-epoch warm-up fills a third of the run
        "epochs": 3, "train_samples": 2000, "val_samples": 1000, "batch_size": 64,
        "warmup_fraction": 1 / 3,
    },
    "warm10": {  # the same images, warm-up a tenth of the run
        "epochs": 3, "train_samples": 2000, "val_samples": 1000, "batch_size": 64,
        "warmup_fraction": 0.1,
    },
    "2x3000": {  # the same 6,000 images seen, more distinct, fewer epochs
        "epochs": 2, "train_samples": 3000, "val_samples": 2000, "batch_size": 64,
        "warmup_fraction": 0.1,
    },
    "1x6000": {
        "epochs": 1, "train_samples": 6000, "val_samples": 2000, "batch_size": 64,
        "warmup_fraction": 0.1,
    },
    "3x3000": {  # 1.5x the images: the most issue #11 allows a default to cost
        "epochs": 3, "train_samples": 3000, "val_samples": 2000, "batch_size": 64,
        "warmup_fraction": 0.1,
    },
    "warm10_b32": {  # the same images in twice the steps
        "epochs": 3, "train_samples": 2000, "val_samples": 1000, "batch_size": 32,
        "warmup_fraction": 0.1,
    },
    "warm10_b16": {  # the same images in four times the steps
        "epochs": 3, "train_samples": 2000, "val_samples": 1000, "batch_size": 16,
        "warmup_fraction": 0.1,
    },
}  # fmt: skip
"""Proxy arm -> ``ProxyBudget`` fields (width 0.5 and the rest at their defaults)."""

REFERENCE: dict[str, Any] = {
    "epochs": 3, "train_samples": 20000, "val_samples": 5000, "batch_size": 128,
    "warmup_fraction": 0.1,
}  # fmt: skip
"""60,000 training images seen: 10x the 6,000 of every arm above but ``3x3000`` (6.7x)."""


def draw_specs(count: int) -> dict[str, dict[str, Any]]:
    """The reference designs, then ``count`` distinct specs of the default space: the specs
    ``nas calibrate`` draws (:func:`nas.calibrate.plan.draw_specs`) for Fashion-MNIST at the
    default proxy's width, so the bench ranks what the product ranks."""
    import optuna

    from nas.calibrate.plan import draw_specs as draw
    from nas.config import SpaceSection
    from nas.reference import reference_params
    from nas.space import SearchSpace

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SearchSpace(
        SpaceSection(), in_channels=1, input_size=28, num_classes=10, proxy_width=0.5
    )
    return draw(space, len(reference_params(space)) + count)


def train_one(spec: dict[str, Any], budget: dict[str, Any]) -> dict[str, Any]:
    """One run in a fresh worker process through the product's :func:`train_once` (the run
    ``nas confirm`` and ``nas calibrate`` send to Ray), on Fashion-MNIST: its result plus the
    per-epoch ``curve`` the summaries read; ``wall_time_s`` on failure too."""
    import torch

    from workers.one_run import train_once

    torch.set_num_threads(1)
    curve: list[dict[str, float]] = []
    parent = os.getppid()

    def on_epoch(metrics: dict[str, float]) -> None:
        if os.getppid() != parent:  # the bench was stopped: do not train on as an orphan
            raise SystemExit(1)
        keys = ("epoch", "val_accuracy", "val_loss", "train_loss", "train_loss_tail")
        curve.append({k: metrics[k] for k in keys})

    started = time.perf_counter()
    result = train_once(spec, {}, budget, on_epoch=on_epoch)
    if "error" in result:
        return {"error": result["error"], "wall_time_s": time.perf_counter() - started}
    return {"curve": curve, **result}


def jobs(
    specs: dict[str, dict[str, Any]], arms: list[str], seeds: int
) -> list[tuple[str, str, int]]:
    """``(arm, spec, seed)`` in the order that makes partial results useful soonest."""
    order: list[tuple[str, str, int]] = []
    for seed in range(seeds):
        order += [(arm, name, seed) for name in specs for arm in arms]
        order += [("reference", name, seed) for name in specs]
    return order


def budget_of(arm: str, seed: int) -> dict[str, Any]:
    fields = REFERENCE if arm == "reference" else ARMS[arm]
    return {**fields, "width": 0.5, "seed": seed}


def run(out: Path, arms: list[str], seeds: int, count: int, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    spec_file = out / "specs.json"
    if not spec_file.exists():
        spec_file.write_text(json.dumps(draw_specs(count), indent=1))
    specs = json.loads(spec_file.read_text())
    log = out / "runs.jsonl"
    done = {(r["arm"], r["spec"], r["seed"]) for r in read_runs(log)}
    todo = [job for job in jobs(specs, arms, seeds) if job not in done]
    print(f"{len(done)} runs done, {len(todo)} to train", flush=True)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(train_one, specs[name], budget_of(arm, seed)): (arm, name, seed)
            for arm, name, seed in todo
        }
        for n, future in enumerate(as_completed(futures), start=1):
            arm, name, seed = futures[future]
            row = {"arm": arm, "spec": name, "seed": seed, **future.result()}
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            acc = row["curve"][-1]["val_accuracy"] if "curve" in row else row["error"]
            print(f"[{n}/{len(todo)}] {arm} {name} s{seed}: {acc} "
                  f"({row['wall_time_s']:.0f} s)", flush=True)  # fmt: skip


def read_runs(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("nas-results/fidelity"))
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated ARMS keys")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--specs", type=int, default=16, help="random specs besides references")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--markdown", type=Path, help="write the summary tables here")
    parser.add_argument("--plot", type=Path, help="proxy vs reference scatter (PNG)")
    parser.add_argument("--plot-arm", help="ARM:SIGNAL to plot (default: the best tau)")
    parser.add_argument("--json", type=Path, help="write the summary as JSON")
    args = parser.parse_args(argv)
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"--arms: unknown {', '.join(unknown)}; known: {', '.join(ARMS)}")
    if not args.summary_only:
        run(args.out, arms, args.seeds, args.specs, args.workers)
    from fidelity_summary import report  # bench/ is on sys.path as the script's folder

    return report(
        read_runs(args.out / "runs.jsonl"),
        arms,
        markdown=args.markdown,
        plot=args.plot,
        plot_arm=args.plot_arm,
        json_out=args.json,
    )


if __name__ == "__main__":
    raise SystemExit(main())
