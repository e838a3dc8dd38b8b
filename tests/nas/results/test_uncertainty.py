"""Known numbers for the statistics behind every reported accuracy (nas.results.uncertainty).

The coverage tests simulate studies from a known normal with a fixed RNG seed, over enough
replicates that the share they assert is a property of the method, not of one draw.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nas.results.noisy_front import Member, dominates, most_accurate, noisy_front, one_se_choice
from nas.results.uncertainty import (
    Estimate,
    Noise,
    binomial_se,
    difference,
    estimate,
    pooled_noise,
    quantile,
    resolvable_difference,
    run_interval,
    tied,
    unmeasured,
)


def test_binomial_se_of_the_issue_is_0_58_points() -> None:
    assert binomial_se(0.79, 5000) == pytest.approx(0.00576, abs=5e-6)
    assert binomial_se(0.5, 100) == pytest.approx(0.05)
    assert binomial_se(1.0, 10) == 0


@pytest.mark.parametrize(("accuracy", "images"), [(1.2, 100), (-0.1, 100), (0.5, 0)])
def test_binomial_se_refuses_impossible_inputs(accuracy: float, images: int) -> None:
    with pytest.raises(ValueError, match=r"accuracy|val_images"):
        binomial_se(accuracy, images)


@pytest.mark.parametrize(
    ("estimate_", "text"),
    [
        (Estimate(0.7954, 0.0058, 2), "0.795 ± 0.006 (n=2)"),
        (Estimate(0.7954, 0.0096, 2), "0.80 ± 0.01 (n=2)"),  # the SE rounds up a decimal
        (Estimate(0.7954, 0.00012, 4), "0.7954 ± 0.0001 (n=4)"),
        (Estimate(79.54, 1.3, 2), "80 ± 1 (n=2)"),
        (Estimate(0.7954, None, 1), "0.795 (n=1, no measured noise)"),  # not a fourth
        (Estimate(0.7954, None, 1, bound=0.0128), "0.80 (n=1, no measured noise)"),
    ],
)
def test_format_prints_no_more_digits_than_the_se_supports(estimate_: Estimate, text: str) -> None:
    assert str(estimate_) == text


@pytest.mark.parametrize(("images", "text"), [(5000, "0.795"), (1000, "0.80"), (None, "0.795")])
def test_a_single_run_has_the_digits_of_its_validation_images(
    images: int | None, text: str
) -> None:
    """Without measured noise the binomial bound of the validation images still limits what an
    accuracy resolves: 0.58 points on 5,000 images, 1.3 on 1,000 (three decimals unknown)."""
    single = estimate([0.7954], val_images=images)
    assert single.se is None and single.text() == text
    assert single == unmeasured(0.7954, val_images=images)
    assert single.bound == (None if images is None else binomial_se(0.7954, images))


def test_pooled_noise_is_the_within_spec_mean_square() -> None:
    noise = pooled_noise([[1.0, 3.0], [2.0, 2.0], [5.0]])  # squares 2 + 0 over df 1 + 1
    assert noise == Noise(sd=1.0, df=2, specs=2, runs=4)
    with pytest.raises(ValueError, match="two runs"):
        pooled_noise([[1.0], [2.0]])


def test_estimate_adds_the_validation_term_which_seeds_do_not_shrink() -> None:
    noise = Noise(sd=0.01, df=7, specs=7, runs=14)
    runs = [0.78, 0.80]
    both = estimate(runs, noise=noise, val_images=5000)
    assert both.mean == pytest.approx(0.79)
    assert both.se == pytest.approx(math.sqrt(0.01**2 / 2 + 0.79 * 0.21 / 5000))
    seed_var = 0.01**2 / 2
    assert both.df == pytest.approx((both.se**2) ** 2 / (seed_var**2 / 7))  # Satterthwaite
    many = estimate([0.79] * 10_000, noise=noise, val_images=5000)
    assert many.se == pytest.approx(binomial_se(0.79, 5000), rel=1e-3)  # the floor stays


def test_estimate_without_noise_uses_its_own_runs_or_says_none() -> None:
    assert estimate([0.8]).se is None
    own = estimate([0.78, 0.80])
    assert own.se == pytest.approx(0.01) and own.df == 1
    assert estimate([-1.2, -1.0]).mean == pytest.approx(-1.1)  # a loss: no validation term
    with pytest.raises(ValueError, match="at least one run"):
        estimate([])


def test_difference_and_ties() -> None:
    gap = difference(Estimate(0.80, 0.006, 2), Estimate(0.79, 0.008, 2))
    assert gap.mean == pytest.approx(0.01) and gap.se == pytest.approx(0.01)
    assert tied(Estimate(0.797, 0.0057, 1), Estimate(0.795, 0.0057, 1))  # 0.2 points, SE 0.8
    assert not tied(Estimate(0.815, 0.0057, 1), Estimate(0.795, 0.0057, 1))  # 2.0 points
    assert not tied(Estimate(0.80, None, 1), Estimate(0.79, None, 1))
    assert tied(Estimate(0.80, None, 1), Estimate(0.80, None, 1))


def test_the_issues_knee_is_a_tie() -> None:
    """resnet20 0.7954 and botnet_last 0.7934, single runs on 5,000 images."""
    noise = Noise(sd=0.004, df=7, specs=7, runs=14)
    plain = estimate([0.7954], noise=noise, val_images=5000)
    botnet = estimate([0.7934], noise=noise, val_images=5000)
    assert difference(plain, botnet).se is not None
    assert difference(plain, botnet).se >= 0.008  # type: ignore[operator]
    assert tied(plain, botnet)


def test_resolvable_difference() -> None:
    exact = Noise(sd=0.0, df=7, specs=7, runs=14)
    floor = resolvable_difference(exact, runs=8, accuracy=0.79, val_images=5000)
    assert floor == pytest.approx(1.96 * math.sqrt(2) * 0.00576, rel=1e-3)
    loss = Noise(sd=0.02, df=7, specs=7, runs=14)
    assert resolvable_difference(loss, runs=2) == pytest.approx(1.96 * 0.02)
    with pytest.raises(ValueError, match="accuracy"):
        resolvable_difference(loss, runs=2, val_images=1000)


def member(name: str, mean: float, macs: float, se: float | None = 0.005) -> Member:
    return Member(name, Estimate(mean, se, 2), macs)


def test_dominance_needs_a_win_beyond_noise() -> None:
    big = member("big", 0.80, 50e6)
    assert dominates(member("cheap_clear", 0.83, 40e6), big)
    assert not dominates(member("cheap_close", 0.805, 40e6), big)
    assert not dominates(member("dear_clear", 0.83, 60e6), big)
    exact_big = member("big", 0.80, 50e6, se=None)
    assert dominates(member("cheap_close", 0.805, 40e6, se=None), exact_big)


def test_noisy_front_keeps_members_within_noise_with_their_ties() -> None:
    members = [
        member("small", 0.790, 10e6),
        member("mid", 0.800, 20e6),  # tied with small and large
        member("large", 0.805, 30e6),
        member("worse", 0.770, 40e6),  # dominated beyond noise by all three
    ]
    front = noisy_front(members)
    assert [m.name for m in front.members] == ["small", "mid", "large"]
    assert front.ties["mid"] == ("small", "large")
    assert front.ties["small"] == ("mid",)  # 1.5 points apart: small and large are not tied
    assert set(front.ties) == {"small", "mid", "large"}
    exact = noisy_front([member(m.name, m.accuracy.mean, m.macs, se=None) for m in members])
    assert [m.name for m in exact.members] == ["small", "mid", "large"]
    with pytest.raises(ValueError, match="distinct"):
        noisy_front([members[0], members[0]])


def test_noisy_front_keeps_what_only_the_means_dominate() -> None:
    members = [member("mid", 0.800, 20e6), member("close", 0.798, 25e6)]
    assert [m.name for m in noisy_front(members).members] == ["mid", "close"]
    exact = [member(m.name, m.accuracy.mean, m.macs, se=None) for m in members]
    assert [m.name for m in noisy_front(exact).members] == ["mid"]


def test_one_se_choice_takes_the_cheaper_tied_member() -> None:
    members = [member("plain", 0.7934, 40e6), member("botnet", 0.7954, 41e6)]
    best = most_accurate(members)
    assert best.name == "botnet"
    choice = one_se_choice(members, best)
    assert choice.chosen.name == "plain" and choice.anchor is best
    assert "plain" in choice.reason and "botnet" in choice.reason
    clear = [member("plain", 0.77, 40e6), member("botnet", 0.80, 41e6)]
    assert one_se_choice(clear, most_accurate(clear)).chosen.name == "botnet"
    with pytest.raises(ValueError, match="anchor"):
        one_se_choice(clear[:1], clear[1])


def test_run_interval_covers_95_percent_of_held_out_runs() -> None:
    """10 specs at 2 seeds measure the noise; one held-out run per spec, 500 studies."""
    rng = np.random.default_rng(0)
    inside = total = 0
    for _ in range(500):
        true = rng.uniform(0.75, 0.85, size=10)
        runs = true[:, None] + rng.normal(0, 0.01, size=(10, 3))
        noise = pooled_noise(runs[:, :2].tolist())
        for spec in range(10):
            low, high = run_interval(runs[spec, :2].tolist(), noise)
            inside += low <= runs[spec, 2] <= high
            total += 1
    assert 0.94 <= inside / total <= 0.96  # 5,000 draws: the share's SE is 0.3 points


def test_mean_interval_covers_the_true_accuracy_on_a_fixed_validation_set() -> None:
    """Each spec's images are drawn once (binomial), seeds add normal noise on top."""
    rng = np.random.default_rng(1)
    inside = total = 0
    for _ in range(500):
        true = rng.uniform(0.75, 0.85, size=10)
        on_images = rng.binomial(1000, true) / 1000  # the fixed set's own accuracy
        runs = on_images[:, None] + rng.normal(0, 0.01, size=(10, 2))
        noise = pooled_noise(runs.tolist())
        for spec in range(10):
            low, high = estimate(runs[spec].tolist(), noise=noise, val_images=1000).interval()
            inside += low <= true[spec] <= high
            total += 1
    assert 0.94 <= inside / total <= 0.97


def test_quantile_is_normal_at_infinite_df_and_wider_with_few() -> None:
    assert quantile(0.95) == pytest.approx(1.95996, abs=1e-5)
    assert quantile(0.95, 1) == pytest.approx(12.706, abs=1e-3)
    with pytest.raises(ValueError, match="level"):
        quantile(1.5)
