"""The calibration's table: computed from the stored runs, stored, and printed again.

The summary is a JSON-able dict (the calibration study's ``calibration`` attribute) so that
``nas calibrate --show`` and ``nas search`` read what was printed, not a recomputation::

    {"specs": 13, "seeds": 2, "level": 0.95, "proxy": {budget}, "reference": {budget},
     "reference_agreement": {"tau": {value, low, high}, "rho": {...},
                             "tau_ceiling": 0.61, "rho_ceiling": 0.74},
     "signals": {name: {"tau": {...}, "rho": {...}, "seed_tau": {...}}},
     "noise": {"proxy": NoiseRecord, "reference": NoiseRecord},
     "seconds_per_run": {"proxy": 9.7, "reference": 41.0},
     "accuracy": {"proxy": [low, high], "reference": [low, high]}, "failed": [names]}
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from nas.calibrate.stats import (
    between_seeds,
    mean_over_seeds,
    rho,
    rho_ceiling,
    tau,
    tau_ceiling,
    with_interval,
)
from nas.results import noise_record
from workers.signals import SIGNALS, signal_key

ACCURACY = "val_accuracy"


def summarise(
    rows: Sequence[dict[str, Any]],
    *,
    specs: Sequence[str],
    seeds: int,
    budgets: dict[str, dict[str, Any]],
    level: float = 0.95,
    resamples: int = 1000,
) -> dict[str, Any]:
    """The summary of ``rows`` (:func:`nas.calibrate.record.run_rows`) over the ``specs`` that
    have every run at both budgets; ``ValueError`` when fewer than 3 do."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["seed"]):
        runs.setdefault((row["budget"], row["spec"]), []).append(row["metrics"])
    whole = [s for s in specs if all(len(runs.get((b, s), [])) == seeds for b in budgets)]
    if len(whole) < 3:
        raise ValueError(
            f"only {len(whole)} specs have all {seeds} seeds at both budgets; a rank "
            "correlation needs 3: run `nas calibrate CONFIG` again to train the rest"
        )

    def column(budget: str, key: str) -> list[list[float]]:
        """One list per seed, one value per spec of ``whole``."""
        return [[float(runs[(budget, s)][i][key]) for s in whole] for i in range(seeds)]

    reference = [statistics.fmean(v) for v in zip(*column("reference", ACCURACY), strict=True)]
    ref_seeds = column("reference", ACCURACY)
    n = len(whole)
    agreement: dict[str, Any] = {
        "tau": with_interval(between_seeds(tau, ref_seeds), n, level=level, resamples=resamples),
        "rho": with_interval(between_seeds(rho, ref_seeds), n, level=level, resamples=resamples),
    }
    agreement["tau_ceiling"] = tau_ceiling(agreement["tau"]["value"], seeds)
    agreement["rho_ceiling"] = rho_ceiling(agreement["rho"]["value"], seeds)
    signals = {}
    for name in SIGNALS.names():
        proxy = column("proxy", signal_key(name))
        if not all(math.isfinite(v) for seed in proxy for v in seed):
            continue  # a signal this trainer does not report (NaN)
        signals[name] = {
            "tau": with_interval(mean_over_seeds(tau, proxy, reference), n, level=level,
                                 resamples=resamples),
            "rho": with_interval(mean_over_seeds(rho, proxy, reference), n, level=level,
                                 resamples=resamples),
            "seed_tau": with_interval(between_seeds(tau, proxy), n, level=level,
                                      resamples=resamples),
        }  # fmt: skip
    return {
        "specs": n,
        "spec_names": whole,
        "seeds": seeds,
        "level": level,
        "proxy": budgets["proxy"],
        "reference": budgets["reference"],
        "reference_agreement": agreement,
        "signals": signals,
        "noise": {b: _noise(column(b, ACCURACY), budgets[b]) for b in budgets},
        "seconds_per_run": {
            b: statistics.fmean(float(m["wall_time_s"]) for s in whole for m in runs[(b, s)])
            for b in budgets
        },
        "accuracy": {b: _range(column(b, ACCURACY)) for b in budgets},
        "failed": sorted(set(specs) - set(whole)),
    }


def _noise(seeds: list[list[float]], budget: dict[str, Any]) -> dict[str, Any]:
    groups = [list(g) for g in zip(*seeds, strict=True)]
    record = noise_record.measure(
        groups, metric=ACCURACY, val_images=budget.get("val_samples"), budget=budget
    )
    return record.to_json()


def _range(seeds: list[list[float]]) -> list[float]:
    means = [statistics.fmean(v) for v in zip(*seeds, strict=True)]
    return [min(means), max(means)]


def best_signal(summary: dict[str, Any]) -> tuple[str, dict[str, float]]:
    """``(name, tau)`` of the signal with the highest tau against the reference."""
    signals = summary["signals"]
    name = max(signals, key=lambda s: _finite(signals[s]["tau"]["value"]))
    return name, signals[name]["tau"]


def format_summary(summary: dict[str, Any]) -> str:
    """The table ``nas calibrate`` prints (and ``--show`` again)."""
    ci, num = format_interval, format_number
    pct = round(summary["level"] * 100)
    agreement = summary["reference_agreement"]
    cost = summary["seconds_per_run"]
    lines = [
        f"calibration: {summary['specs']} specs x {summary['seeds']} seeds; reference "
        f"{_budget(summary['reference'])}, proxy {_budget(summary['proxy'])}",
        f"reference seed-to-seed: tau {ci(agreement['tau'])}, rho {ci(agreement['rho'])}; "
        f"noise ceiling: tau {num(agreement['tau_ceiling'])}, rho {num(agreement['rho_ceiling'])}",
        f"reference accuracy {_span(summary['accuracy']['reference'])}, "
        f"proxy {_span(summary['accuracy']['proxy'])}",
    ]
    for stage in ("proxy", "reference"):
        record = noise_record.NoiseRecord.from_json(summary["noise"][stage])
        lines.append(record.summary(stage))
    lines += [
        "",
        f"{'signal':<20} {'tau vs reference (' + str(pct) + ' % CI)':<30} "
        f"{'rho vs reference':<24} {'proxy seed-to-seed tau':<24}",
    ]
    for name, row in summary["signals"].items():
        lines.append(
            f"{name:<20} {ci(row['tau']):<30} {ci(row['rho']):<24} {ci(row['seed_tau']):<24}"
        )
    ratio = f" ({cost['reference'] / cost['proxy']:.1f}x)" if cost["proxy"] > 0 else ""
    lines += [
        "",
        f"cost per run: proxy {cost['proxy']:.1f} s, reference {cost['reference']:.1f} s{ratio}",
    ]
    if summary["signals"]:
        best, value = best_signal(summary)
        lines.append(f"highest tau: {best} ({ci(value)}); search by it with [objectives] signal")
    if summary["failed"]:
        lines.append(f"left out (a run failed or is missing): {', '.join(summary['failed'])}")
    return "\n".join(lines).rstrip()


def format_interval(value: dict[str, float]) -> str:
    """``+0.42 [+0.10, +0.70]``: a value and its interval."""
    num = format_number
    return f"{num(value['value'])} [{num(value['low'])}, {num(value['high'])}]"


def format_number(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "n/a"


def _span(bounds: list[float]) -> str:
    return f"{bounds[0]:.3f}-{bounds[1]:.3f}"


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _budget(budget: dict[str, Any]) -> str:
    images = budget.get("train_samples") or "all"
    return f"{budget['epochs']} x {images} images"
