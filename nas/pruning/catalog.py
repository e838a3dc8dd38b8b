"""The registered pruners: ``pareto`` (default), ``median``, ``successive_halving``,
``hyperband``, ``none``.

Each factory's keyword-only parameters are the options the search config may set for it
(``make_pruner(name, **options)``). Every one accepts ``max_resource``, the proxy's epoch
budget, so the search can always pass it: no pruner then prunes at the last epoch, when
stopping saves nothing and only drops a trained model from the front (``none`` ignores it).

The accuracy-only ones are Optuna's pruners wrapped in
:class:`~nas.pruning.accuracy.AccuracyPruner`; their rung defaults match ``pareto``'s
(``min_resource=1``, ``reduction_factor=3``) so the benchmark compares like with like.

Optuna (and the pruners built on it) is imported inside the factories, not here: the registry
imports this module to list the names, and every ``--help`` lists them
(tests/nas/test_cli_startup.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from nas.pruning.registry import register

if TYPE_CHECKING:
    from optuna.pruners import BasePruner


@register("pareto")
def pareto(
    *,
    min_resource: int = 1,
    reduction_factor: int = 3,
    min_trials_per_rung: int | None = None,
    max_resource: int | None = None,
    cost_attrs: Sequence[str] = ("macs",),
) -> BasePruner:
    """MO-ASHA on (accuracy at the rung, MACs): see :class:`~nas.pruning.pareto.ParetoPruner`."""
    from nas.pruning.pareto import ParetoPruner

    return ParetoPruner(
        min_resource=min_resource,
        reduction_factor=reduction_factor,
        min_trials_per_rung=min_trials_per_rung,
        max_resource=max_resource,
        cost_attrs=cost_attrs,
    )


@register("median")
def median(
    *,
    n_startup_trials: int = 5,
    n_warmup_steps: int = 0,
    interval_steps: int = 1,
    n_min_trials: int = 1,
    max_resource: int | None = None,
) -> BasePruner:
    """Prune below the median accuracy of COMPLETE trials at the same epoch (Optuna's)."""
    from optuna.pruners import MedianPruner

    from nas.pruning.accuracy import AccuracyPruner

    return AccuracyPruner(
        MedianPruner(
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
        ),
        max_resource=max_resource,
    )


@register("successive_halving")
def successive_halving(
    *,
    min_resource: int | Literal["auto"] = 1,
    reduction_factor: int = 3,
    min_early_stopping_rate: int = 0,
    bootstrap_count: int = 0,
    max_resource: int | None = None,
) -> BasePruner:
    """Asynchronous successive halving on accuracy alone (Optuna's ASHA, Li et al. 2020)."""
    from optuna.pruners import SuccessiveHalvingPruner

    from nas.pruning.accuracy import AccuracyPruner

    return AccuracyPruner(
        SuccessiveHalvingPruner(
            min_resource=min_resource,
            reduction_factor=reduction_factor,
            min_early_stopping_rate=min_early_stopping_rate,
            bootstrap_count=bootstrap_count,
        ),
        max_resource=max_resource,
    )


@register("hyperband")
def hyperband(
    *,
    min_resource: int = 1,
    max_resource: int | Literal["auto"] = "auto",
    reduction_factor: int = 3,
    bootstrap_count: int = 0,
) -> BasePruner:
    """Hyperband brackets of successive halving on accuracy alone (Li et al., JMLR 2018)."""
    from optuna.pruners import HyperbandPruner

    from nas.pruning.accuracy import AccuracyPruner

    return AccuracyPruner(
        HyperbandPruner(
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            bootstrap_count=bootstrap_count,
        ),
        max_resource=max_resource if isinstance(max_resource, int) else None,
    )


@register("none")
def none(*, max_resource: int | None = None) -> BasePruner:
    """Never prune: every trial trains its full budget (``max_resource`` is accepted, unused)."""
    from optuna.pruners import NopPruner

    return NopPruner()
