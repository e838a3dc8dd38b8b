"""Where in a proxy run does the search's signal start to rank? Evidence for a pruner's rungs.

A pruner decides at its rungs on the signal seen so far, so a rung is worth what the signal's
rank correlation *at that point of the run* is worth (issue #11: "the first rung comes after the
warm-up and where the new signal ranks well"). This script trains the default proxy
(``ProxyBudget()``: 3 epochs of 2,000 images, batch 64, a tenth of the run warming up) on the
specs of a ``bench/fidelity.py`` run, keeps every step's training loss, and reports, for rungs
at every third of an epoch, the Kendall tau against that run's reference accuracy of

- ``window``: minus the mean training loss of the third of an epoch before the rung (what a
  sub-epoch rung reporting every third of an epoch would read; at whole epochs the
  ``neg_tail_loss`` signal, which this measurement made the default), and
- ``epoch``: minus the mean training loss of the last epoch's worth of steps before the rung
  (of every step, before the first epoch ends): at whole epochs the ``neg_sotl_e`` signal (the
  epoch's mean training loss), the default before;

for one seed (mean over seeds) and for the seed mean, and the proxy's own seed-to-seed tau.
The training-speed signals are Ru et al.'s (SoTL/SoTL-E, "Speedy Performance Estimation for
Neural Architecture Search", NeurIPS 2021). Run by hand, resumable (every run is appended to
``OUT/steps.jsonl``; a rerun trains only what is missing), two processes, one thread each::

    .venv/bin/python bench/rungs.py --fidelity docs/fidelity-runs/2026-12-03 \\
        --out nas-results/rungs --markdown nas-results/rungs/table.md

About 46 runs of the default proxy: 10 minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fidelity import read_runs  # bench/ is on sys.path as the script's folder

THIRDS = 9
"""Rungs at every third of an epoch of the 3-epoch default proxy."""


def train_steps(spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """One default proxy run in a fresh worker process: every epoch's per-step losses."""
    import torch

    from searchspace.spec import ArchSpec
    from workers.budget import ProxyBudget
    from workers.data import DataConfig
    from workers.train import prepare_run

    torch.set_num_threads(1)
    parent = os.getppid()
    budget = ProxyBudget(seed=seed)
    started = time.perf_counter()
    _, splits, loop = prepare_run(
        ArchSpec.from_dict(spec), DataConfig.from_dict({}), budget, torch.device("cpu")
    )
    epochs: list[list[float]] = []
    for epoch in range(1, budget.epochs + 1):
        if os.getppid() != parent:  # the bench was stopped: do not train on as an orphan
            raise SystemExit(1)
        loop.train_epoch(epoch, splits.train)
        assert loop.step_losses is not None, "train_epoch keeps its step losses"
        epochs.append([float(v) for v in loop.step_losses])
    return {"steps": epochs, "wall_time_s": time.perf_counter() - started}


def rung_signals(epochs: list[list[float]], rung: int) -> dict[str, float]:
    """``window`` and ``epoch`` (module docstring) at ``rung`` thirds of an epoch."""
    flat = [loss for epoch in epochs for loss in epoch]
    per_epoch = len(epochs[0])
    end = round(rung * per_epoch / 3)
    start = round((rung - 1) * per_epoch / 3)
    return {
        "window": -statistics.fmean(flat[start:end]),
        "epoch": -statistics.fmean(flat[max(0, end - per_epoch) : end]),
    }


def summarise(runs: list[dict[str, Any]], reference: dict[str, float]) -> list[dict[str, Any]]:
    """One row per rung and signal: taus against ``reference`` (spec -> accuracy)."""
    from fidelity_summary import mean_over, seed_tau, tau

    seeds = sorted({r["seed"] for r in runs})
    rows = []
    for rung in range(1, THIRDS + 1):
        for name in ("window", "epoch"):
            by_seed = {
                s: {r["spec"]: rung_signals(r["steps"], rung)[name] for r in runs if r["seed"] == s}
                for s in seeds
            }
            one_seed = [tau(v, reference)[0] for v in by_seed.values()]
            rows.append(
                {
                    "epochs": rung / 3,
                    "signal": name,
                    "tau_one_seed": statistics.fmean(one_seed),
                    "tau_seed_mean": tau(mean_over(by_seed), reference)[0],
                    "seed_tau": seed_tau(by_seed),
                    "specs": len(mean_over(by_seed)),
                }
            )
    return rows


def to_markdown(rows: list[dict[str, Any]], ref: dict[str, Any]) -> str:
    lines = [
        f"Reference: {ref['specs']} specs, accuracy mean of seeds {ref['seeds']} "
        f"(`bench/fidelity.py`), its seed-to-seed tau {ref['seed_tau']:.2f}.",
        "",
        "| rung (epochs) | share of the run | signal | tau (1 seed) | tau (seed mean) "
        "| proxy seed-to-seed tau |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['epochs']:.2f} | {row['epochs'] / 3:.0%} | {row['signal']} "
            f"| {row['tau_one_seed']:.2f} | {row['tau_seed_mean']:.2f} | {row['seed_tau']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def train_missing(specs: dict[str, Any], seeds: int, out: Path, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    log = out / "steps.jsonl"
    done = {(r["spec"], r["seed"]) for r in read_runs(log)}
    todo = [(name, seed) for seed in range(seeds) for name in specs if (name, seed) not in done]
    print(f"{len(done)} runs done, {len(todo)} to train", flush=True)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_steps, specs[n], s): (n, s) for n, s in todo}
        for count, future in enumerate(as_completed(futures), start=1):
            name, seed = futures[future]
            row = {"spec": name, "seed": seed, **future.result()}
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            last = -statistics.fmean(row["steps"][-1])
            print(f"[{count}/{len(todo)}] {name} s{seed}: last epoch -loss {last:.3f} "
                  f"({row['wall_time_s']:.0f} s)", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--fidelity", type=Path, required=True, help="a bench/fidelity.py --out folder"
    )
    parser.add_argument("--out", type=Path, default=Path("nas-results/rungs"))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    args = parser.parse_args(argv)
    from fidelity_summary import mean_over, per_seed, seed_tau, table

    specs = json.loads((args.fidelity / "specs.json").read_text())
    ref_seeds = per_seed(table(read_runs(args.fidelity / "runs.jsonl")), "reference", "last_acc")
    reference = mean_over(ref_seeds)
    if not reference:
        parser.error(f"--fidelity: no reference runs in {args.fidelity / 'runs.jsonl'}")
    if not args.summary_only:
        train_missing({k: v for k, v in specs.items() if k in reference}, args.seeds, args.out,
                      args.workers)  # fmt: skip
    runs = read_runs(args.out / "steps.jsonl")
    if not runs:
        print("no runs yet")
        return 1
    ref = {"specs": len(reference), "seeds": sorted(ref_seeds), "seed_tau": seed_tau(ref_seeds)}
    text = to_markdown(summarise(runs, reference), ref)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
