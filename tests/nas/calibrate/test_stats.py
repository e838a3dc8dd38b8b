"""The rank statistics of a calibration: intervals that hold their value, ceilings that
follow the reference's agreement."""

from __future__ import annotations

import math

import pytest

from nas.calibrate.stats import (
    between_seeds,
    mean_over_seeds,
    rho,
    rho_ceiling,
    tau,
    tau_ceiling,
    with_interval,
)


def test_perfect_agreement_has_a_degenerate_interval_at_one() -> None:
    values = [0.1, 0.4, 0.2, 0.9, 0.5, 0.3]
    result = with_interval(mean_over_seeds(tau, [values, values], values), len(values))
    assert result == pytest.approx({"value": 1.0, "low": 1.0, "high": 1.0})


def test_the_interval_holds_the_value_and_narrows_with_more_specs() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    widths = []
    for n in (8, 60):
        truth = rng.normal(size=n)
        seeds = [list(truth + rng.normal(scale=0.7, size=n)) for _ in range(2)]
        result = with_interval(between_seeds(rho, seeds), n, resamples=300)
        assert result["low"] <= result["value"] <= result["high"]
        widths.append(result["high"] - result["low"])
    assert widths[1] < widths[0]


def test_ceilings() -> None:
    assert tau_ceiling(1.0, 2) == pytest.approx(1.0)
    assert rho_ceiling(1.0, 2) == pytest.approx(1.0)
    # two seeds agreeing at r = 0.5 make a mean of reliability 2/3, so r <= sqrt(2/3)
    half_tau = 2 / math.pi * math.asin(0.5)
    assert tau_ceiling(half_tau, 2) == pytest.approx(2 / math.pi * math.asin(math.sqrt(2 / 3)))
    assert tau_ceiling(0.3, 4) > tau_ceiling(0.3, 2) > 0.3
    assert math.isnan(tau_ceiling(-0.2, 2)) and math.isnan(rho_ceiling(0.0, 2))


def test_a_constant_side_ranks_nothing() -> None:
    assert math.isnan(tau([1, 1, 1], [1, 2, 3])) and math.isnan(rho([1, 2, 3], [2, 2, 2]))
