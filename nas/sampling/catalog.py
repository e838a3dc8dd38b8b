"""The registered samplers: ``nsga2`` (default), ``tpe``, ``random``, ``gp``.

Each factory's keyword-only parameters, but ``seed`` (``[search] seed``), are the options a
search config may set in ``[sampler]``. Every sampler is returned inside
:class:`~nas.sampling.view.SamplerView`, so it sees pruned trials the way Optuna stores them.

Optuna is imported inside the factories, not here: the registry imports this module to list
the names, and every ``--help`` lists them (tests/nas/test_cli_startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.sampling.registry import register

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler


@register("nsga2")
def nsga2(*, seed: int | None = None, population_size: int = 4) -> BaseSampler:
    """NSGA-II (Deb et al., IEEE TEC 2002): the first ``population_size`` trials are random.

    A generation is bred once ``population_size`` of the current one are COMPLETE; pruned and
    failed trials never join it. In the default 12-trial search with Pareto pruning about half
    the trials or fewer complete, so a population of 8 never gets past its random first
    generation; with 4 it can.
    """
    if population_size < 2:
        raise ValueError(f"population_size={population_size}: must be >= 2")
    from optuna.samplers import NSGAIISampler

    return _viewed(NSGAIISampler(seed=seed, population_size=population_size))


@register("tpe")
def tpe(
    *,
    seed: int | None = None,
    n_startup_trials: int = 10,
    multivariate: bool = True,
    group: bool = True,
    constant_liar: bool = False,
) -> BaseSampler:
    """Multi-objective TPE (Ozaki et al., GECCO 2020); random for ``n_startup_trials`` trials.

    ``group`` splits the define-by-run space by which parameters a trial has (a block's own
    parameters exist only where the block is drawn); ``constant_liar`` keeps concurrent
    trials apart.
    """
    if group and not multivariate:  # Optuna's own words name neither the fix nor our keys
        raise ValueError(
            "group = true (the default) needs multivariate = true: with multivariate = false, "
            "also set group = false"
        )
    from optuna.samplers import TPESampler

    return _viewed(
        TPESampler(
            seed=seed,
            n_startup_trials=_startup(n_startup_trials),
            multivariate=multivariate,
            group=group,
            constant_liar=constant_liar,
        )
    )


@register("random")
def random(*, seed: int | None = None) -> BaseSampler:
    """Uniform over the space: the baseline every other sampler is measured against."""
    from optuna.samplers import RandomSampler

    return _viewed(RandomSampler(seed=seed))


@register("gp")
def gp(*, seed: int | None = None, n_startup_trials: int = 10) -> BaseSampler:
    """Gaussian-process Bayesian optimisation (Optuna's ``GPSampler``; needs scipy)."""
    try:
        import scipy  # noqa: F401
    except ImportError:
        raise ValueError(
            "'gp' needs scipy; install it (pip install scipy) or use nsga2/tpe"
        ) from None
    from optuna.samplers import GPSampler

    return _viewed(
        GPSampler(
            seed=seed, n_startup_trials=_startup(n_startup_trials), warn_independent_sampling=False
        )
    )


def _viewed(sampler: BaseSampler) -> BaseSampler:
    from nas.sampling.view import SamplerView

    return SamplerView(sampler)


def _startup(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n_startup_trials={n!r}: must be an integer >= 0")
    return n
