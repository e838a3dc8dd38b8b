"""The private optuna-dashboard names ``nas dashboard``'s own study page reuses, read here only.

The page (:mod:`nas.commands._dashboard_page`) must be the JSON optuna-dashboard would send, so
it calls optuna-dashboard's own functions for everything but the trials' bulk: the study-level
part of the answer, each distribution's JSON, a trial's note, the Pareto front. They live in
private modules of optuna-dashboard 0.21; ``tests/nas/test_dashboard_page.py`` holds our page
equal to optuna-dashboard's own endpoint, so a release that moves or changes one fails there.
"""

from __future__ import annotations

from optuna_dashboard._custom_plot_data import get_plotly_graph_objects
from optuna_dashboard._note import get_note_from_system_attrs
from optuna_dashboard._pareto_front import get_pareto_front_trials
from optuna_dashboard._serializer import (
    MAX_ATTR_LENGTH,
    serialize_distribution,
    serialize_study_detail,
)
from optuna_dashboard.preferential._study import (
    _SYSTEM_ATTR_PREFERENTIAL_STUDY as PREFERENTIAL_KEY,
)

__all__ = [
    "MAX_ATTR_LENGTH",
    "PREFERENTIAL_KEY",
    "get_note_from_system_attrs",
    "get_pareto_front_trials",
    "get_plotly_graph_objects",
    "serialize_distribution",
    "serialize_study_detail",
]
