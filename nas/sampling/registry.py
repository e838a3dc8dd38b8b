"""The sampler registry: a name in the search config becomes an Optuna sampler.

``@register("tpe")`` puts a factory in :data:`SAMPLERS`; ``make_sampler(name, seed=...,
**options)`` builds one. ``seed`` is reserved: it comes from ``[search] seed``.

Nothing here imports Optuna, and :mod:`nas.sampling.catalog` only inside its factories: the
config's defaults and checks and every ``--help`` (which lists the names) start without it.
The catalog is imported on the registry's first use (``fill``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from searchspace.registry import Registry

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

DEFAULT_SAMPLER = "nsga2"
"""What ``nas search`` samples with unless the config says otherwise."""

SAMPLERS: Registry[Callable[..., BaseSampler]] = Registry(
    "sampler",
    default=DEFAULT_SAMPLER,
    reserved=("seed",),
    factories=True,
    fill="nas.sampling.catalog",
)
"""Every sampler by name; ``[search] sampler`` and ``[sampler]`` options are checked against it."""

register = SAMPLERS.register


def make_sampler(
    name: str = DEFAULT_SAMPLER, *, seed: int | None = None, **options: Any
) -> BaseSampler:
    """Build the sampler registered as ``name``, seeded, with ``options``.

    Raises:
        ValueError: unknown name, unknown option, or an option value the sampler refuses.
    """
    return SAMPLERS.make(name, seed=seed, **options)
