"""What one reported value is worth: its mean, its standard error and the runs behind it.

A NAS service sells a ranking, and a ranking of single runs cannot tell a real difference from
noise. Two sources of error separate a spec's reported accuracy from the accuracy it would have
on the data distribution, and they shrink differently:

- **Training noise** (weights' initialisation, batch order, augmentation): one variance per run,
  ``sd**2``, which averaging ``n`` seeds divides by ``n``. Two seeds give a poor estimate of it
  (one degree of freedom), so the service measures it once per study and budget on a few specs
  trained at two or more seeds, and pools the within-spec variances over them
  (:func:`pooled_noise`): ``k`` specs at two seeds give ``k`` degrees of freedom, and every
  member's standard error then uses that one estimate. Pooling assumes the variance is about
  the same for every spec of a space at one budget; ``bench/noise.py`` measures it per spec.
- **Validation sampling**: every run of a study is scored on the same fixed ``val_images``
  images, one sample of the distribution, so this error is shared by all seeds of a spec and
  does not average away. Jordan ("On the variance of neural network training with respect to
  test sets and distributions", ICLR 2024) finds most of the run-to-run spread of CIFAR-10 test
  accuracy is of this kind. Its variance is at most the binomial ``p (1 - p) / val_images``
  (:func:`binomial_se`; equality when every image is either always or never classified
  correctly), which the service adds as an upper bound, exact from the number of images.

So a mean of ``n`` runs has ``se**2 = sd**2 / n + p (1 - p) / val_images``, with the degrees of
freedom of the pooled variance carried through (Satterthwaite) so that intervals use Student's t.
Values that are not accuracies (a training loss) have no validation term. This module imports
nothing from the project (the standard library's arithmetic, scipy's quantiles), so it can move
with the front reader that uses it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

NO_NOISE_DECIMALS = 3
"""Decimals of a value that has neither a standard error nor a validation bound: a tenth of a
point of an accuracy. One proxy run varies by more than that (docs/noise.md), so a fourth
decimal would only pretend."""


@dataclass(frozen=True)
class Estimate:
    """A reported value: ``mean`` of ``n`` runs, standard error ``se`` (``None``: not measured).

    ``df`` is the degrees of freedom of the variance behind ``se`` (``inf`` when it is known, as
    the binomial part is), so :meth:`interval` uses Student's t where the noise was estimated
    from few runs. ``bound`` is the validation-sampling standard error of an accuracy
    (:func:`binomial_se` of its validation images), known even where the training noise is not:
    it sets the digits of a value without ``se`` (:func:`unmeasured`).
    """

    mean: float
    se: float | None
    n: int
    df: float = math.inf
    bound: float | None = None

    def __post_init__(self) -> None:
        assert self.n >= 1 and (self.se is None or self.se >= 0) and self.df > 0, self

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided ``level`` confidence interval of the mean."""
        if self.se is None:
            raise ValueError("this value carries no measured noise, so it has no interval")
        half = quantile(level, self.df) * self.se
        return self.mean - half, self.mean + half

    def decimals(self) -> int:
        """The decimals its standard error supports: the SE rounded to one significant digit.

        Without one, those of the validation ``bound`` (a floor on what an accuracy resolves),
        else :data:`NO_NOISE_DECIMALS`; an SE of 0 (exact) keeps four.
        """
        scale = self.se if self.se is not None else self.bound
        if scale is None:
            return NO_NOISE_DECIMALS
        if scale == 0:
            return 4
        places = -math.floor(math.log10(scale))
        if round(scale, places) >= 10.0 ** (1 - places):  # 0.0096 rounds up to 0.01
            places -= 1
        return min(max(places, 0), 6)

    def text(self) -> str:
        """``0.795 ± 0.006``, or ``0.795`` without a standard error: :meth:`decimals` digits."""
        places = self.decimals()
        if self.se is None:
            return f"{self.mean:.{places}f}"
        return f"{self.mean:.{places}f} ± {self.se:.{places}f}"

    def format(self) -> str:
        """``0.795 ± 0.006 (n=2)``, or ``0.795 (n=1, no measured noise)``."""
        if self.se is None:
            return f"{self.text()} (n={self.n}, no measured noise)"
        return f"{self.text()} (n={self.n})"

    def __str__(self) -> str:
        return self.format()


def unmeasured(mean: float, n: int = 1, val_images: int | None = None) -> Estimate:
    """A value whose training noise was not measured: no standard error, and the digits of the
    validation bound when it is an accuracy scored on ``val_images`` images (``None``: not an
    accuracy, or their number is unknown)."""
    bound = binomial_se(mean, val_images) if val_images else None
    return Estimate(mean, None, n, bound=bound)


@dataclass(frozen=True)
class Noise:
    """Run-to-run standard deviation of one value at one budget, pooled over ``specs`` specs.

    ``df`` = runs - specs is the degrees of freedom of ``sd**2``: what a t quantile needs.
    """

    sd: float
    df: int
    specs: int
    runs: int


def quantile(level: float, df: float = math.inf) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` degrees (normal at ``inf``)."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), not {level}")
    upper = (1 + level) / 2
    return float(stats.norm.ppf(upper) if math.isinf(df) else stats.t.ppf(upper, df))


def binomial_se(accuracy: float, val_images: int) -> float:
    """Standard error of an accuracy measured on ``val_images`` images: ``sqrt(p (1 - p) / n)``.

    At 0.79 on 5,000 images it is 0.00576 (0.58 points): differences of a few tenths of a point
    between two members scored this way are not resolved, however many seeds each has.
    """
    if not 0 <= accuracy <= 1:
        raise ValueError(f"an accuracy lies in [0, 1], not {accuracy}")
    if val_images < 1:
        raise ValueError(f"val_images must be at least 1, not {val_images}")
    return math.sqrt(accuracy * (1 - accuracy) / val_images)


def pooled_noise(groups: Sequence[Sequence[float]]) -> Noise:
    """Pool the within-spec variance of several specs' seed runs into one run-to-run noise.

    ``groups`` holds one sequence of runs (one value per seed) per spec; specs with a single
    run add nothing. The pooled variance is the sum of squared deviations from each spec's own
    mean over ``runs - specs`` degrees of freedom: the one-way ANOVA's within-group mean square.
    Seven reference designs at two seeds give seven degrees of freedom where one spec at two
    seeds gives one, which is why the service measures its noise this way and does not trust
    each member's own two seeds.
    """
    used = [list(g) for g in groups if len(g) >= 2]
    df = sum(len(g) - 1 for g in used)
    if df == 0:
        raise ValueError("measuring noise needs at least one spec with two runs or more")
    squares = sum(sum((x - statistics.fmean(g)) ** 2 for x in g) for g in used)
    return Noise(sd=math.sqrt(squares / df), df=df, specs=len(used), runs=df + len(used))


def estimate(
    values: Sequence[float], *, noise: Noise | None = None, val_images: int | None = None
) -> Estimate:
    """The mean of ``values`` (one per seed) with its standard error.

    The training part is ``noise.sd**2 / n`` when the study measured its noise, else the
    runs' own sample variance (``n >= 2``), else unknown (``se`` ``None``: a single run of a
    study without noise records says so rather than guess; :func:`unmeasured`). ``val_images``
    adds the validation sampling variance of an accuracy (module docstring); leave it ``None``
    for other values.
    """
    if not values:
        raise ValueError("an estimate needs at least one run")
    n = len(values)
    mean = statistics.fmean(values)
    if noise is not None:
        seed_var, df = noise.sd**2 / n, float(noise.df)
    elif n >= 2:
        seed_var, df = statistics.variance(values) / n, float(n - 1)
    else:
        return unmeasured(mean, n, val_images)
    val_var = binomial_se(mean, val_images) ** 2 if val_images else 0.0
    total = seed_var + val_var
    df = (total**2 / (seed_var**2 / df)) if seed_var > 0 else math.inf  # Satterthwaite
    return Estimate(mean, math.sqrt(total), n, df)


def difference(a: Estimate, b: Estimate) -> Estimate:
    """``a - b`` with the standard error of a difference of independent estimates.

    Independence overstates the validation part when both were scored on the same images (their
    errors on hard images are shared and cancel partly; pairing them needs per-image predictions,
    which a study does not keep), so ties are declared conservatively. Welch-Satterthwaite
    degrees of freedom (an upper bound when both sides share one pooled noise, whose own degrees
    of freedom then apply); ``se`` ``None`` when either side has none.
    """
    n = min(a.n, b.n)
    if a.se is None or b.se is None:
        return Estimate(a.mean - b.mean, None, n)
    var_a, var_b = a.se**2, b.se**2
    spread = var_a**2 / a.df + var_b**2 / b.df
    df = (var_a + var_b) ** 2 / spread if spread > 0 else math.inf
    return Estimate(a.mean - b.mean, math.sqrt(var_a + var_b), n, df)


def tied(a: Estimate, b: Estimate, z: float = 1.96) -> bool:
    """Whether ``a`` and ``b`` differ by no more than ``z`` standard errors of their difference.

    Without measured noise only equal means are tied (the behaviour of a study that has none).
    0.7954 and 0.7934 on 5,000 images each, at most 0.8 points apart in SE, are tied; a two
    point lead with the same SE is not.
    """
    gap = difference(a, b)
    if gap.se is None:
        return a.mean == b.mean
    return abs(gap.mean) <= z * gap.se


def resolvable_difference(
    noise: Noise, *, runs: int, accuracy: float | None = None, val_images: int | None = None,
    z: float = 1.96,
) -> float:  # fmt: skip
    """The smallest gap between two means of ``runs`` runs each that :func:`tied` separates.

    What a study prints after measuring its noise ("differences under Y are not resolved at
    this budget"); ``accuracy`` and ``val_images`` add the validation term at that accuracy.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    if val_images is not None and accuracy is None:
        raise ValueError("the validation term needs the accuracy it is taken at")
    one = estimate([accuracy or 0.0] * runs, noise=noise, val_images=val_images)
    assert one.se is not None
    return z * math.sqrt(2) * one.se


def run_interval(values: Sequence[float], noise: Noise, level: float = 0.95) -> tuple[float, float]:
    """Where one more run of the same spec on the same images falls with probability ``level``.

    A prediction interval, ``mean ± t * sd * sqrt(1 + 1/n)``: the new run's own noise plus that
    of the mean it is compared with. No validation term: the new run is scored on the same
    images, so their sampling error is shared, not added. This is the interval whose coverage
    of held-out seeds ``bench/noise.py`` scores ("one run varies by ± X").
    """
    if not values:
        raise ValueError("an interval needs at least one run")
    mean = statistics.fmean(values)
    half = quantile(level, noise.df) * noise.sd * math.sqrt(1 + 1 / len(values))
    return mean - half, mean + half
