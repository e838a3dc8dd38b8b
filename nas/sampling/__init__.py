"""Samplers for multi-objective ``nas search`` studies.

``make_sampler(name, seed=..., **options)`` builds one by name (``SAMPLERS.names()`` lists
them): ``"nsga2"`` (default), ``"tpe"``, ``"random"``, ``"gp"``. Each is Optuna's, wrapped in
:class:`SamplerView` so that it sees pruned trials without the learning curves the search keeps
for the dashboard and the pruners.

The registry imports no Optuna (``nas --help`` lists its names); :class:`SamplerView` and
:class:`PrunedWithoutCurves` do, so they are imported when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nas.sampling.registry import DEFAULT_SAMPLER, SAMPLERS, make_sampler

if TYPE_CHECKING:
    from nas.sampling.view import PrunedWithoutCurves, SamplerView

__all__ = ["DEFAULT_SAMPLER", "SAMPLERS", "PrunedWithoutCurves", "SamplerView", "make_sampler"]

_LAZY = {"PrunedWithoutCurves": "nas.sampling.view", "SamplerView": "nas.sampling.view"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
