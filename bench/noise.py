"""Evidence for ``docs/noise.md``: how much one run varies, and whether the intervals cover it.

Trains a fixed set of specs (the reference designs of :mod:`nas.reference` first, then specs
drawn at random from the default space; ``bench/fidelity.py``'s :func:`draw_specs`) at two
budgets, the default proxy and the default confirmation (``nas.confirm.budget``: 4x the proxy's
training images, 5,000 validation images), each at ``--seeds`` seeds, and reports per budget:

(a) **run-to-run noise**: the pooled within-spec standard deviation of the final validation
    accuracy and of the proxy's signal (``neg_tail_loss``) over all seeds, its degrees of
    freedom, the spread of the per-spec SDs (Levene's test of equal variances, since pooling
    assumes them), the binomial bound of validation sampling at the mean accuracy, and the
    smallest difference two 2-seed means resolve (``nas.results.uncertainty``);
(b) **calibration**, as the service will report it: the noise is pooled over every spec's seeds
    0 and 1 only (the service measures it on a few specs at two seeds), each spec's 95 %
    interval is built from its seeds 0 and 1, and the held-out seeds (2 and up) are scored: the
    share of held-out runs inside the run interval (``run_interval``: where one more run falls)
    and the share of specs whose held-out mean lies within the 95 % bound of the difference of
    two means. Both target 95 %; the issue asks for 90-98 % over at least 40 held-out runs
    (16 specs x 2 held-out seeds x 2 budgets = 64 by default).

(c) **Stability of the exported choice** is not measured here: it needs whole searches, and
the searcher is being restructured. The plan: three default ``nas search`` runs into three
storages that differ only in ``[proxy] seed`` (0, 1, 2), each confirming at two seeds; for each
run, ``nas export --knee`` (one-standard-error rule) gives a choice with its confirmed
estimate; the choice is stable when each run's choice is tied (``nas.results.uncertainty.tied``,
z = 1.96) with the other two runs' choices, their accuracies re-estimated at the confirmation
budget on the same seeds. It costs three default searches, about 18 minutes on the 2-core box.

Resumable like ``bench/fidelity.py`` (whose training entry point runs every job): specs are
drawn once into ``OUT/specs.json``, the budgets into ``OUT/budgets.json`` (a rerun with other
budgets is refused), every finished run is appended to ``OUT/runs.jsonl``, and a rerun trains
only what is missing. At most two training processes, one torch thread each::

    .venv/bin/python bench/noise.py --markdown docs/noise-table.md

``--summary-only`` re-reads ``OUT`` without training; ``--epochs``, ``--train-samples`` and
``--val-samples`` shrink the proxy (the confirmation scales with it) for a smoke test.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fidelity import draw_specs, read_runs, train_one
from fidelity_summary import signal
from scipy.stats import levene

from nas.results.uncertainty import (
    Noise,
    binomial_se,
    estimate,
    pooled_noise,
    quantile,
    resolvable_difference,
    run_interval,
)

VALUES = {"accuracy": "last_acc", "neg_tail_loss": "neg_tail_loss"}
"""Reported value -> ``fidelity_summary.signal`` name (the search's own definitions)."""

SHOWN_SEEDS = 2
"""Seeds behind every interval the service reports; the rest are held out to score it."""


def budgets(overrides: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The default proxy (with ``overrides``) and the confirmation budget derived from it."""
    from nas.config import ConfirmSection
    from nas.confirm.budget import confirm_budgets
    from workers.budget import ProxyBudget

    proxy = ProxyBudget.from_dict(overrides)
    confirm = ConfirmSection()
    val = confirm.val_samples if "val_samples" not in overrides else overrides["val_samples"] * 5
    (longer,) = confirm_budgets(proxy, scale=confirm.scale, val_samples=val, seeds=1)
    return {"proxy": proxy.to_dict(), "confirm": longer.to_dict()}


def run(out: Path, plan: dict[str, dict[str, Any]], count: int, seeds: int, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plan_file, spec_file = out / "budgets.json", out / "specs.json"
    if plan_file.exists() and json.loads(plan_file.read_text()) != plan:
        raise SystemExit(f"{plan_file} holds other budgets: use another --out or the same flags")
    plan_file.write_text(json.dumps(plan, indent=1))
    if not spec_file.exists():
        specs = draw_specs(max(0, count - 7))  # the 7 references come first
        spec_file.write_text(json.dumps(dict(list(specs.items())[:count]), indent=1))
    specs = json.loads(spec_file.read_text())
    log = out / "runs.jsonl"
    done = {(r["budget"], r["spec"], r["seed"]) for r in read_runs(log)}
    # spec by spec: a run stopped early leaves whole specs (seeds 0-1 and held-out 2+) to score
    order = [(b, name, s) for b in plan for name in specs for s in range(seeds)]
    todo = [job for job in order if job not in done]
    print(f"{len(done)} runs done, {len(todo)} to train", flush=True)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(train_one, specs[name], {**plan[b], "seed": seed}): (b, name, seed)
            for b, name, seed in todo
        }
        for n, future in enumerate(as_completed(futures), start=1):
            b, name, seed = futures[future]
            row = {"budget": b, "spec": name, "seed": seed, **future.result()}
            row["val_images"] = plan[b]["val_samples"]
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            acc = row["curve"][-1]["val_accuracy"] if "curve" in row else row["error"]
            took = f"{row['wall_time_s']:.0f} s"
            print(f"[{n}/{len(todo)}] {b} {name} s{seed}: {acc} ({took})", flush=True)


def by_spec(rows: list[dict[str, Any]], budget: str, value: str) -> dict[str, dict[int, float]]:
    """``{spec: {seed: value}}`` of the finished runs of one budget."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in rows:
        if r["budget"] == budget and "curve" in r:
            out[r["spec"]][r["seed"]] = signal(r["curve"], VALUES[value])
    return dict(out)


def noise_row(runs: dict[str, dict[int, float]], val_images: int | None) -> dict[str, Any]:
    """(a): the pooled run-to-run noise over every seed, and what it resolves."""
    groups = [list(seeds.values()) for seeds in runs.values() if len(seeds) >= 2]
    noise = pooled_noise(groups)
    sds = [statistics.stdev(g) for g in groups]
    mean = statistics.fmean(x for g in groups for x in g)
    val = val_images if val_images and 0 <= mean <= 1 else None
    row: dict[str, Any] = {
        "specs": noise.specs, "runs": noise.runs, "mean": mean, "sd": noise.sd, "df": noise.df,
        "spec_sd_min": min(sds), "spec_sd_max": max(sds),
        "levene_p": (  # two runs a spec give each spec's deviations equal: no test
            float(levene(*groups).pvalue) if min(map(len, groups)) >= 3 else math.nan
        ),
        "binomial_se": binomial_se(mean, val) if val else None,
        "resolves_at_2": resolvable_difference(
            noise, runs=SHOWN_SEEDS, accuracy=mean if val else None, val_images=val
        ),
    }  # fmt: skip
    return row


def calibration_row(runs: dict[str, dict[int, float]]) -> dict[str, Any]:
    """(b): intervals from seeds 0 and 1 with the noise pooled over them, held-out seeds scored."""
    shown = {s: [v[i] for i in range(SHOWN_SEEDS)] for s, v in runs.items() if 0 in v and 1 in v}
    held = {s: [x for i, x in runs[s].items() if i >= SHOWN_SEEDS] for s in shown}
    held = {s: xs for s, xs in held.items() if xs}
    if len(shown) < 2 or not held:
        return {"held_out_runs": 0}
    noise = pooled_noise(list(shown.values()))
    runs_in = sum(
        lo <= x <= hi for s, xs in held.items() for lo, hi in [run_interval(shown[s], noise)]
        for x in xs
    )  # fmt: skip
    means_in = sum(_means_agree(shown[s], xs, noise) for s, xs in held.items())
    total = sum(len(xs) for xs in held.values())
    return {
        "noise_sd": noise.sd, "noise_df": noise.df, "held_out_runs": total,
        "run_coverage": runs_in / total, "held_out_specs": len(held),
        "mean_coverage": means_in / len(held),
    }  # fmt: skip


def _means_agree(shown: list[float], held: list[float], noise: Noise) -> bool:
    """Whether two means of the same spec differ by less than the 95 % bound of a difference.

    No validation term: both are scored on the same images. One pooled SD serves both means,
    so the t quantile takes its degrees of freedom.
    """
    se = noise.sd * math.sqrt(1 / len(shown) + 1 / len(held))
    return abs(statistics.fmean(shown) - statistics.fmean(held)) <= quantile(0.95, noise.df) * se


def report(rows: list[dict[str, Any]], plan: dict[str, dict[str, Any]]) -> str:
    """The markdown tables of ``docs/noise.md``."""
    lines = [
        "| budget | value | specs | runs | mean | run-to-run SD (df) | per-spec SD | Levene p "
        "| validation SE | resolved at 2 seeds | held-out runs | in run interval "
        "| held-out means in bound |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for budget, fields in plan.items():
        for value in VALUES:
            runs = by_spec(rows, budget, value)
            if not any(len(v) >= 2 for v in runs.values()):
                continue
            a = noise_row(runs, fields["val_samples"] if value == "accuracy" else None)
            c = calibration_row(runs)
            val = f"{a['binomial_se']:.4f}" if a["binomial_se"] is not None else "-"
            levene_p = "-" if math.isnan(a["levene_p"]) else f"{a['levene_p']:.2f}"
            cal = (
                f"{c['held_out_runs']} | {c['run_coverage']:.0%} | {c['mean_coverage']:.0%}"
                if c["held_out_runs"] else "0 | - | -"
            )  # fmt: skip
            lines.append(
                f"| {budget} | {value} | {a['specs']} | {a['runs']} | {a['mean']:.4f} "
                f"| {a['sd']:.4f} ({a['df']}) | {a['spec_sd_min']:.4f}-{a['spec_sd_max']:.4f} "
                f"| {levene_p} | {val} | {a['resolves_at_2']:.4f} | {cal} |"
            )
    lines += ["", "| spec | " + " | ".join(f"{b} accuracy" for b in plan) + " |"]
    lines.append("|---|" + "---:|" * len(plan))
    per_budget = {b: by_spec(rows, b, "accuracy") for b in plan}
    noises = {b: _pooled_or_none(per_budget[b]) for b in plan}
    for spec in sorted({s for runs in per_budget.values() for s in runs}):
        cells = []
        for b in plan:
            values = list(per_budget[b].get(spec, {}).values())
            val_images = plan[b]["val_samples"]
            cells.append(
                str(estimate(values, noise=noises[b], val_images=val_images)) if values else "-"
            )
        lines.append(f"| {spec} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pooled_or_none(runs: dict[str, dict[int, float]]) -> Noise | None:
    groups = [list(v.values()) for v in runs.values() if len(v) >= 2]
    return pooled_noise(groups) if groups else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/noise-runs"))
    parser.add_argument("--specs", type=int, default=16, help="references first, then random")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--epochs", type=int, help="proxy epochs (smoke tests)")
    parser.add_argument("--train-samples", type=int, help="proxy training images (smoke tests)")
    parser.add_argument(
        "--val-samples", type=int, help="proxy validation images, the confirmation's 5x (smoke)"
    )
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--markdown", type=Path, help="write the tables here too")
    args = parser.parse_args(argv)
    if args.seeds < 2 or args.specs < 2:
        parser.error("--seeds and --specs must be at least 2: noise needs repeated runs")
    names = {"epochs": args.epochs, "train_samples": args.train_samples}
    overrides = {k: v for k, v in {**names, "val_samples": args.val_samples}.items() if v}
    plan = budgets(overrides)
    if args.summary_only:
        plan = json.loads((args.out / "budgets.json").read_text())
    else:
        run(args.out, plan, args.specs, args.seeds, args.workers)
    text = report(read_runs(args.out / "runs.jsonl"), plan)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
