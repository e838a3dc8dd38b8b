"""Rank agreement with its uncertainty: tau and rho over specs, bootstrap intervals, ceilings.

A calibration has few specs (10-20), so a rank correlation from it is itself noisy: its
interval comes from resampling the specs with replacement (the percentile bootstrap, Efron &
Tibshirani 1993, ch. 13), which keeps the pairing of a spec's proxy and reference values.

The reference is noisy too: two of its seeds agree only so well, and no proxy can be expected
to agree with the reference's mean better than that mean agrees with the truth. Under a
bivariate normal model the seed-to-seed tau and rho convert to Pearson's r (Greiner's
``r = sin(pi tau / 2)``, Pearson's ``r = 2 sin(pi rho / 6)``), Spearman-Brown gives the
reliability of a mean of ``n`` seeds, ``n r / (1 + (n - 1) r)``, and the highest correlation
with that mean is the root of it (Spearman's attenuation), converted back: the noise ceiling.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np
from scipy.stats import kendalltau, spearmanr

Values = Sequence[float]
Statistic = Callable[[np.ndarray], float]
"""A statistic of the spec indices it is computed over (a bootstrap resample or all)."""


def tau(x: Values, y: Values) -> float:
    """Kendall's tau-b (NaN when either side is constant)."""
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(kendalltau(x, y).statistic)


def rho(x: Values, y: Values) -> float:
    """Spearman's rho (NaN when either side is constant)."""
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    return float(spearmanr(x, y).statistic)


def mean_over_seeds(
    correlation: Callable[[Values, Values], float], seeds: Sequence[Values], target: Values
) -> Statistic:
    """The mean over ``seeds`` (one value per spec each) of ``correlation`` with ``target``:
    what one proxy seed is worth, as a search ranks each spec by one run."""
    arrays = [np.asarray(s, dtype=float) for s in seeds]
    goal = np.asarray(target, dtype=float)

    def statistic(index: np.ndarray) -> float:
        values = [correlation(list(a[index]), list(goal[index])) for a in arrays]
        return _nanmean(values)

    return statistic


def between_seeds(
    correlation: Callable[[Values, Values], float], seeds: Sequence[Values]
) -> Statistic:
    """The mean over pairs of seeds of their ``correlation``: seed-to-seed agreement."""
    arrays = [np.asarray(s, dtype=float) for s in seeds]

    def statistic(index: np.ndarray) -> float:
        pairs = combinations(arrays, 2)
        return _nanmean([correlation(list(a[index]), list(b[index])) for a, b in pairs])

    return statistic


def with_interval(
    statistic: Statistic, specs: int, *, level: float = 0.95, resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """``{"value", "low", "high"}``: ``statistic`` over all specs and its percentile bootstrap
    interval over ``resamples`` resamples of the specs (those where it is NaN left out)."""
    value = statistic(np.arange(specs))
    rng = np.random.default_rng(seed)
    draws = [statistic(rng.integers(0, specs, specs)) for _ in range(resamples)]
    finite = np.asarray([d for d in draws if math.isfinite(d)])
    if finite.size == 0:
        return {"value": value, "low": math.nan, "high": math.nan}
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return {"value": value, "low": float(low), "high": float(high)}


def tau_ceiling(seed_tau: float, seeds: int) -> float:
    """The highest tau expected against the mean of ``seeds`` runs agreeing at ``seed_tau``."""
    ceiling = _ceiling(math.sin(math.pi * seed_tau / 2), seeds)
    return 2 / math.pi * math.asin(ceiling) if math.isfinite(ceiling) else math.nan


def rho_ceiling(seed_rho: float, seeds: int) -> float:
    """The highest rho expected against the mean of ``seeds`` runs agreeing at ``seed_rho``."""
    ceiling = _ceiling(2 * math.sin(math.pi * seed_rho / 6), seeds)
    return 6 / math.pi * math.asin(ceiling / 2) if math.isfinite(ceiling) else math.nan


def _ceiling(r: float, seeds: int) -> float:
    """``sqrt`` of the Spearman-Brown reliability of a mean of ``seeds`` runs (NaN when the
    runs do not agree at all: the reference then ranks nothing)."""
    if not math.isfinite(r) or r <= 0:
        return math.nan
    return math.sqrt(seeds * r / (1 + (seeds - 1) * r))


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan
