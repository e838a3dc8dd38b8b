"""The calibration's table: computed from the stored runs, stored, and printed again.

The summary is a JSON-able dict (the calibration study's ``calibration`` attribute) so that
``nas calibrate --show`` and ``nas search`` read what was printed, not a recomputation::

    {"specs": 13, "spec_names": [...], "seeds": 2, "level": 0.95,
     "budgets": {"reference": {budget}, "proxy": {budget}, <candidate>: {budget}, ...},
     "reference_agreement": {"tau": {value, low, high}, "rho": {...},
                             "tau_ceiling": 0.61, "rho_ceiling": 0.74},
     "signals": {<proxy>: {<signal>: {"tau": {...}, "rho": {...}, "seed_tau": {...}}}},
     "noise": {<budget>: NoiseRecord}, "seconds_per_run": {<budget>: 9.7},
     "accuracy": {<budget>: [low, high]}, "failed": [spec names], "setup": {...}}

``proxy`` is the config's own proxy; the other proxies are ``--proxies`` candidates; every
correlation is against the reference's mean accuracy over its seeds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from functools import partial
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
    have every run at every budget (``reference`` and the proxies); ``ValueError`` when fewer
    than 3 do."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: r["seed"]):
        runs.setdefault((row["budget"], row["spec"]), []).append(row["metrics"])
    whole = [s for s in specs if all(len(runs.get((b, s), [])) == seeds for b in budgets)]
    if len(whole) < 3:
        raise ValueError(
            f"only {len(whole)} specs have all {seeds} seeds at every budget; a rank "
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
    signals = {
        b: _signals(partial(column, b), reference, n, level=level, resamples=resamples)
        for b in budgets
        if b != "reference"
    }
    return {
        "specs": n,
        "spec_names": whole,
        "seeds": seeds,
        "level": level,
        "budgets": dict(budgets),
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


def _signals(
    column: Callable[[str], list[list[float]]],
    reference: list[float],
    n: int,
    *,
    level: float,
    resamples: int,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{signal: {"tau", "rho", "seed_tau"}}`` of one proxy budget (``column`` binds it)."""
    out = {}
    for name in SIGNALS.names():
        proxy = column(signal_key(name))
        if not all(math.isfinite(v) for seed in proxy for v in seed):
            continue  # a signal this trainer does not report (NaN)
        out[name] = {
            "tau": with_interval(mean_over_seeds(tau, proxy, reference), n, level=level,
                                 resamples=resamples),
            "rho": with_interval(mean_over_seeds(rho, proxy, reference), n, level=level,
                                 resamples=resamples),
            "seed_tau": with_interval(between_seeds(tau, proxy), n, level=level,
                                      resamples=resamples),
        }  # fmt: skip
    return out


def _noise(seeds: list[list[float]], budget: dict[str, Any]) -> dict[str, Any]:
    groups = [list(g) for g in zip(*seeds, strict=True)]
    record = noise_record.measure(
        groups, metric=ACCURACY, val_images=budget.get("val_samples"), budget=budget
    )
    return record.to_json()


def _range(seeds: list[list[float]]) -> list[float]:
    means = [statistics.fmean(v) for v in zip(*seeds, strict=True)]
    return [min(means), max(means)]
