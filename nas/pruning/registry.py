"""The pruner registry: a name in the search config becomes an Optuna pruner.

``@register("pareto")`` puts a factory in one dict (a duplicate name raises); the factory's
keyword-only parameters are the options that name accepts, so ``make_pruner`` can reject an
unknown option with a message that lists the accepted ones before Optuna ever sees it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from optuna.pruners import BasePruner

PrunerFactory = Callable[..., BasePruner]

DEFAULT_PRUNER = "pareto"
"""What ``nas search`` prunes with unless the config says otherwise."""

_REGISTRY: dict[str, PrunerFactory] = {}


def register(name: str) -> Callable[[PrunerFactory], PrunerFactory]:
    """Register ``factory(**options) -> BasePruner`` under ``name`` (keyword-only options)."""

    def decorator(factory: PrunerFactory) -> PrunerFactory:
        if name in _REGISTRY:
            raise KeyError(f"pruner {name!r} is already registered")
        positional = [
            p.name
            for p in inspect.signature(factory).parameters.values()
            if p.kind is not inspect.Parameter.KEYWORD_ONLY
        ]
        assert not positional, f"pruner factory {name!r} takes non-keyword-only {positional}"
        _REGISTRY[name] = factory
        return factory

    return decorator


def pruner_names() -> tuple[str, ...]:
    """Registered pruner names, the default first."""
    return tuple(sorted(_REGISTRY, key=lambda n: (n != DEFAULT_PRUNER, n)))


def pruner_options(name: str) -> dict[str, Any]:
    """The options ``name`` accepts, with their defaults: ``{"reduction_factor": 3, ...}``."""
    parameters = inspect.signature(_factory(name)).parameters.values()
    return {p.name: p.default for p in parameters}


def make_pruner(name: str = DEFAULT_PRUNER, **options: Any) -> BasePruner:
    """Build the pruner registered as ``name`` with ``options``.

    Every registered pruner works on the multi-objective studies of ``nas search``
    (``docs/study-format.md``): intermediate values are validation accuracy per epoch.

    Raises:
        ValueError: unknown name, unknown option, or an option value the pruner refuses.
    """
    accepted = pruner_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        allowed = ", ".join(accepted) or "none"
        raise ValueError(f"pruner {name!r} has no option {unknown[0]!r}; accepted: {allowed}")
    return _factory(name)(**options)


def _factory(name: str) -> PrunerFactory:
    if name not in _REGISTRY:
        raise ValueError(f"unknown pruner {name!r}; choose one of {', '.join(pruner_names())}")
    return _REGISTRY[name]
