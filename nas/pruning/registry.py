"""The pruner registry: a name in the search config becomes an Optuna pruner.

``@register("pareto")`` puts a factory in :data:`PRUNERS` (a :class:`nas.registry.Registry`);
the factory's keyword-only parameters are the options that name accepts, so ``make_pruner`` can
reject an unknown option with a message that lists the accepted ones before Optuna ever sees it.
"""

from __future__ import annotations

from typing import Any

from optuna.pruners import BasePruner

from nas.registry import Registry

DEFAULT_PRUNER = "pareto"
"""What ``nas search`` prunes with unless the config says otherwise."""

PRUNERS: Registry[BasePruner] = Registry("pruner", default=DEFAULT_PRUNER)
"""Every pruner by name; ``[search] pruner`` and ``[pruner]`` options are checked against it."""

register = PRUNERS.register


def pruner_names() -> tuple[str, ...]:
    """Registered pruner names, the default first."""
    return PRUNERS.names()


def pruner_options(name: str) -> dict[str, Any]:
    """The options ``name`` accepts, with their defaults: ``{"reduction_factor": 3, ...}``."""
    return PRUNERS.options(name)


def make_pruner(name: str = DEFAULT_PRUNER, **options: Any) -> BasePruner:
    """Build the pruner registered as ``name`` with ``options``.

    Every registered pruner works on the multi-objective studies of ``nas search``
    (``docs/study-format.md``): intermediate values are the study's signal (its first
    objective, higher is better) per epoch.

    Raises:
        ValueError: unknown name, unknown option, or an option value the pruner refuses.
    """
    return PRUNERS.make(name, **options)
