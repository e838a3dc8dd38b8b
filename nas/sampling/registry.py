"""The sampler registry: a name in the search config becomes an Optuna sampler.

``@register("tpe")`` puts a factory in :data:`SAMPLERS`; ``make_sampler(name, seed=...,
**options)`` builds one. ``seed`` is reserved: it comes from ``[search] seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optuna.samplers import BaseSampler

from searchspace.registry import Registry

DEFAULT_SAMPLER = "nsga2"
"""What ``nas search`` samples with unless the config says otherwise."""

SAMPLERS: Registry[Callable[..., BaseSampler]] = Registry(
    "sampler", default=DEFAULT_SAMPLER, reserved=("seed",), factories=True
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
