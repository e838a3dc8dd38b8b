"""Summary of ``bench/fidelity.py`` runs: rank correlations, seed noise, cost, and a scatter plot.

Correlations are computed on the specs every compared run finished (a spec that failed in any
run of an arm or of the reference is left out of that arm's numbers, and counted), with the
product's statistics (:mod:`nas.calibrate.stats`, what ``nas calibrate`` reports): Kendall's
tau-b, Spearman's rho, the mean over pairs of seeds, and the noise ceiling.

The reference is itself a noisy measurement, so no proxy can correlate with it better than its
**noise ceiling**: the seed-to-seed rho converted to a correlation, the Spearman-Brown
reliability ``k r / (1 + (k - 1) r)`` of a mean of ``k`` seeds, its root, converted back
(Spearman, "The proof and measurement of association between two things", 1904; Brown, 1910;
:func:`nas.calibrate.stats.rho_ceiling`). One proxy seed's rho divided by that ceiling
estimates its rank correlation with a noise-free reference (Spearman's correction for
attenuation, applied to the reference only: the proxy's own noise is what a search lives
with). It is an estimate under the usual assumptions (errors independent between seeds and of
the true score), printed beside the measured values, never instead.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from nas.calibrate.stats import between_seeds, rho, rho_ceiling
from nas.calibrate.stats import tau as kendall

SIGNALS: dict[str, str] = {
    "last_acc": "validation accuracy, last epoch",
    "best_acc": "validation accuracy, best epoch",
    "neg_val_loss": "-validation loss, last epoch",
    "neg_sotl": "-sum of training losses, all epochs (SoTL)",
    "neg_sotl_e": "-training loss, last epoch (SoTL-E)",
    "epoch1_acc": "validation accuracy after epoch 1 (what a pruner's first rung sees)",
    "epoch1_neg_loss": "-training loss of epoch 1 (neg_sotl_e at the first rung)",
    "neg_tail_loss": "-training loss of the last third of the last epoch's steps",
    "epoch1_neg_tail": "-training loss of the last third of epoch 1 (neg_tail_loss at the "
    "first rung; runs recorded before it existed leave both out)",
}


AS_SEARCHED: dict[str, tuple[str, int | None]] = {
    "last_acc": ("last_val_accuracy", None),
    "best_acc": ("best_val_accuracy", None),
    "neg_sotl": ("neg_sotl", None),
    "neg_sotl_e": ("neg_sotl_e", None),
    "neg_tail_loss": ("neg_tail_loss", None),
    "epoch1_acc": ("last_val_accuracy", 1),
    "epoch1_neg_loss": ("neg_sotl_e", 1),
    "epoch1_neg_tail": ("neg_tail_loss", 1),
}
"""Bench signal -> the search's signal (``workers.signals.SIGNALS``) and the epochs of the
curve it reads (``None``: all of them)."""


def signal(curve: list[dict[str, float]], name: str) -> float:
    """One ranking signal of a learning curve (higher is better for every signal)."""
    from workers.signals import SIGNALS as SEARCH_SIGNALS

    if name == "neg_val_loss":  # not a search signal
        return -float(curve[-1]["val_loss"])
    searched, epochs = AS_SEARCHED[name]
    return SEARCH_SIGNALS[searched].score(curve[:epochs])


def table(runs: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, dict[str, Any]]]:
    """``(arm, seed) -> spec -> run`` (the last run of a key wins)."""
    out: dict[tuple[str, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    for run in runs:
        out[run["arm"], run["seed"]][run["spec"]] = run
    return out


def per_seed(by: dict, arm: str, sig: str) -> dict[int, dict[str, float]]:
    """``seed -> spec -> signal`` of the finished, non-failed runs of ``arm``."""
    out = {}
    for seed in sorted(s for a, s in by if a == arm):
        values = {k: signal(r["curve"], sig) for k, r in by[arm, seed].items() if "curve" in r}
        values = {k: v for k, v in values.items() if not math.isnan(v)}  # not recorded
        if values:
            out[seed] = values
    return out


def tau(a: dict[str, float], b: dict[str, float]) -> tuple[float, float, int]:
    """Kendall tau and Spearman rho over the specs ``a`` and ``b`` share, and their count."""
    keys = sorted(set(a) & set(b))
    if len(keys) < 3:
        return float("nan"), float("nan"), len(keys)
    x, y = [a[k] for k in keys], [b[k] for k in keys]
    return kendall(x, y), rho(x, y), len(keys)


def mean_over(seeds: dict[int, dict[str, float]]) -> dict[str, float]:
    """Per-spec mean over the seeds, for specs every seed has."""
    if not seeds:
        return {}
    common = set.intersection(*(set(v) for v in seeds.values()))
    return {k: statistics.fmean(v[k] for v in seeds.values()) for k in common}


def seed_tau(seeds: dict[int, dict[str, float]], *, which: int = 0) -> float:
    """Mean Kendall tau over pairs of seeds (``which=1``: Spearman rho), on the specs every
    seed has: :func:`nas.calibrate.stats.between_seeds`."""
    common = sorted(mean_over(seeds))
    if len(seeds) < 2 or len(common) < 3:
        return float("nan")
    columns = [[values[k] for k in common] for values in seeds.values()]
    correlation = rho if which else kendall
    return between_seeds(correlation, columns)(np.arange(len(common)))


def summarise(runs: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    by = table(runs)
    ref_seeds = per_seed(by, "reference", "last_acc")
    reference = mean_over(ref_seeds)
    ref_time = [r["wall_time_s"] for (a, _), rs in by.items() if a == "reference"
                for r in rs.values()]  # fmt: skip
    base = "today" if "today" in arms or not arms else arms[0]
    base_time = _mean_time(by, base)
    ref_rho = seed_tau(ref_seeds, which=1)
    ceiling = rho_ceiling(ref_rho, len(ref_seeds))
    out: dict[str, Any] = {
        "cost_base": base,
        "reference": {
            "seeds": sorted(ref_seeds),
            "specs": len(reference),
            "seed_tau": seed_tau(ref_seeds),
            "seed_rho": ref_rho,
            "noise_ceiling_rho": ceiling,
            "accuracy_range": [
                min(reference.values(), default=0),
                max(reference.values(), default=0),
            ],
            "mean_time_s": statistics.fmean(ref_time) if ref_time else float("nan"),
            "failed": sorted(
                {
                    k
                    for (a, _), rs in by.items()
                    if a == "reference"
                    for k, r in rs.items()
                    if "curve" not in r
                }
            ),
        },
        "arms": {},
    }
    for arm in arms:
        time_s = _mean_time(by, arm)
        rows = {}
        for sig in SIGNALS:
            seeds = per_seed(by, arm, sig)
            if not seeds:
                continue
            single = [tau(v, reference) for v in seeds.values()]
            mean_t, mean_r, n = tau(mean_over(seeds), reference)
            rho_one_seed = statistics.fmean(r for _, r, _ in single)
            rows[sig] = {
                "tau_one_seed": statistics.fmean(t for t, _, _ in single),
                "rho_one_seed": rho_one_seed,
                "rho_one_seed_noise_free_reference": rho_one_seed / ceiling,
                "tau_seed_mean": mean_t,
                "rho_seed_mean": mean_r,
                "seed_tau": seed_tau(seeds),
                "specs": n,
                "seeds": len(seeds),
            }
        accs = mean_over(per_seed(by, arm, "last_acc"))
        out["arms"][arm] = {
            "signals": rows,
            "mean_time_s": time_s,
            "time_ratio": time_s / base_time if base_time else float("nan"),
            "accuracy_range": [min(accs.values(), default=0), max(accs.values(), default=0)],
        }
    return out


def _mean_time(by: dict, arm: str) -> float:
    """Mean seconds per run of ``arm`` at seed 0: the pass in which the arms run interleaved,
    so their ratios compare runs under the same load."""
    times = [r["wall_time_s"] for (a, s), rs in by.items() if a == arm and s == 0
             for r in rs.values()]  # fmt: skip
    return statistics.fmean(times) if times else float("nan")


def to_markdown(summary: dict[str, Any]) -> str:
    ref = summary["reference"]
    lines = [
        f"Reference: {ref['specs']} specs at seeds {ref['seeds']}, accuracy "
        f"{ref['accuracy_range'][0]:.3f}-{ref['accuracy_range'][1]:.3f}, seed-to-seed Kendall "
        f"tau {ref['seed_tau']:.2f} (rho {ref['seed_rho']:.2f}), {ref['mean_time_s']:.0f} s per run"
        + (f"; failed: {', '.join(ref['failed'])}" if ref["failed"] else "")
        + f". Noise ceiling of its {len(ref['seeds'])}-seed mean: rho "
        f"{ref['noise_ceiling_rho']:.2f} (no proxy can show more).",
        "",
        "| arm | signal | tau (1 seed) | rho (1 seed) | rho (1 seed) / ceiling | tau (seed mean) "
        "| rho (seed mean) | proxy seed-to-seed tau | s per run | cost vs "
        f"{summary['cost_base']} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm, row in summary["arms"].items():
        for sig, s in row["signals"].items():
            lines.append(
                f"| {arm} | {sig} | {s['tau_one_seed']:.2f} | {s['rho_one_seed']:.2f} "
                f"| {s['rho_one_seed_noise_free_reference']:.2f} "
                f"| {s['tau_seed_mean']:.2f} | {s['rho_seed_mean']:.2f} | {s['seed_tau']:.2f} "
                f"| {row['mean_time_s']:.1f} | {row['time_ratio']:.2f}x |"
            )
    lines += ["", "Signals: " + "; ".join(f"`{k}`: {v}" for k, v in SIGNALS.items()) + "."]
    return "\n".join(lines) + "\n"


def best(summary: dict[str, Any]) -> tuple[str, str]:
    pairs = [
        (s["tau_one_seed"], arm, sig)
        for arm, row in summary["arms"].items()
        for sig, s in row["signals"].items()
        if s["tau_one_seed"] == s["tau_one_seed"]
    ]
    _, arm, sig = max(pairs)
    return arm, sig


def scatter(runs: list[dict[str, Any]], arm: str, sig: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = table(runs)
    reference = mean_over(per_seed(by, "reference", "last_acc"))
    proxy = mean_over({0: per_seed(by, arm, sig).get(0, {})})
    keys = sorted(set(reference) & set(proxy))
    today = per_seed(by, "today", "last_acc").get(0, {})
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter([reference[k] for k in keys], [proxy[k] for k in keys], label=f"{arm}: {sig}")
    for k in keys:
        ax.annotate(k, (reference[k], proxy[k]), fontsize=6, alpha=0.7)
    t, _, n = tau(proxy, reference)
    ax.set_xlabel("reference accuracy (mean of seeds)")
    ax.set_ylabel(f"proxy {sig} (seed 0)")
    title = f"{arm} / {sig}: Kendall tau {t:.2f} over {n} specs"
    if today and arm != "today":
        t0, _, _ = tau(today, reference)
        title += f" (today's proxy: {t0:.2f})"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def report(
    runs: list[dict[str, Any]],
    arms: list[str],
    *,
    markdown: Path | None = None,
    plot: Path | None = None,
    plot_arm: str | None = None,
    json_out: Path | None = None,
) -> int:
    if not runs:
        print("no runs yet")
        return 1
    summary = summarise(runs, arms)
    text = to_markdown(summary)
    print(text)
    if markdown:
        markdown.write_text(text)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=1))
    if plot:
        arm, sig = plot_arm.split(":") if plot_arm else best(summary)
        scatter(runs, arm, sig, plot)
    return 0
