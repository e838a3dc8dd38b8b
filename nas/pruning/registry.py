"""The pruner registry: a name in the search config becomes an Optuna pruner.

``@register("pareto")`` puts a factory in :data:`PRUNERS` (a
:class:`searchspace.registry.Registry`); the factory's keyword-only parameters are the options
that name accepts, so ``make_pruner`` can reject an unknown option with a message that lists
the accepted ones before Optuna ever sees it.

Nothing here imports Optuna, and :mod:`nas.pruning.catalog` only inside its factories: the
config's defaults and checks and every ``--help`` (which lists the names) start without it.
The catalog is imported on the registry's first use (``fill``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from searchspace.registry import Registry

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

DEFAULT_PRUNER = "pareto"
"""What ``nas search`` prunes with unless the config says otherwise."""

PRUNERS: Registry[Callable[..., BasePruner]] = Registry(
    "pruner", default=DEFAULT_PRUNER, factories=True, fill="nas.pruning.catalog"
)
"""Every pruner by name; ``[search] pruner`` and ``[pruner]`` options are checked against it."""

register = PRUNERS.register


def make_pruner(name: str = DEFAULT_PRUNER, **options: Any) -> BasePruner:
    """Build the pruner registered as ``name`` with ``options``.

    Every registered pruner works on the multi-objective studies of ``nas search``
    (``docs/study-format.md``): intermediate values are the study's signal (its first
    objective, higher is better) per epoch.

    Raises:
        ValueError: unknown name, unknown option, or an option value the pruner refuses.
    """
    return PRUNERS.make(name, **options)
