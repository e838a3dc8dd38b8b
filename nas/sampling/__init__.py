"""Samplers for multi-objective ``nas search`` studies.

``make_sampler(name, seed=..., **options)`` builds one by name (``SAMPLERS.names()`` lists
them): ``"nsga2"`` (default), ``"tpe"``, ``"random"``, ``"gp"``. Each is Optuna's, wrapped in
:class:`SamplerView` so that it sees pruned trials without the learning curves the search keeps
for the dashboard and the pruners.
"""

from __future__ import annotations

from nas.sampling import catalog as _catalog  # noqa: F401  (fills the registry)
from nas.sampling.registry import DEFAULT_SAMPLER, SAMPLERS, make_sampler
from nas.sampling.view import PrunedWithoutCurves, SamplerView

__all__ = ["DEFAULT_SAMPLER", "SAMPLERS", "PrunedWithoutCurves", "SamplerView", "make_sampler"]
