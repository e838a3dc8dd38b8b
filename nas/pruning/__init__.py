"""Pruners for multi-objective ``nas search`` studies.

``make_pruner(name, **options)`` builds one by name (``PRUNERS.names()`` lists them):
``"pareto"`` (default, :class:`ParetoPruner`: MO-ASHA on the study's signal and MACs),
``"median"``, ``"successive_halving"``, ``"hyperband"`` (Optuna's, on the signal alone, through
:class:`AccuracyPruner`) and ``"none"``.

Contract with the search: after each epoch it writes
``storage.set_trial_intermediate_value(trial_id, epoch, signal)``, the study's first objective
at that epoch (``[objectives] signal``, by default ``neg_tail_loss``; ``Trial.report`` refuses
multi-objective studies), then asks
``study.pruner.prune(study, storage.get_trial(trial_id))``; on True it stops the trial and tells
it PRUNED. ``user_attrs["macs"]`` must be set before the first epoch for the Pareto pruner.

The registry imports no Optuna (``nas --help`` lists its names); the pruners and the ranking
do (or numpy), so they are imported when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nas.pruning.registry import DEFAULT_PRUNER, PRUNERS, make_pruner

if TYPE_CHECKING:
    from nas.pruning.accuracy import AccuracyPruner
    from nas.pruning.objective_view import SingleObjectiveView
    from nas.pruning.pareto import ParetoPruner
    from nas.pruning.ranking import places_ahead, survivors

__all__ = [
    "DEFAULT_PRUNER",
    "PRUNERS",
    "AccuracyPruner",
    "ParetoPruner",
    "SingleObjectiveView",
    "make_pruner",
    "places_ahead",
    "survivors",
]

_LAZY = {
    "AccuracyPruner": "nas.pruning.accuracy",
    "ParetoPruner": "nas.pruning.pareto",
    "SingleObjectiveView": "nas.pruning.objective_view",
    "places_ahead": "nas.pruning.ranking",
    "survivors": "nas.pruning.ranking",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
