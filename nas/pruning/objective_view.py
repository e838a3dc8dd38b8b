"""A storage that shows a multi-objective study to Optuna as a single-objective one.

Optuna's ``MedianPruner``, ``SuccessiveHalvingPruner`` and ``HyperbandPruner`` read
``study.direction``, which raises on a multi-objective study (optuna/optuna#3450). They only
ever compare intermediate values, which in our studies are the first objective's signal per
epoch (``docs/study-format.md``), so all they need is a study whose one direction is that
objective's (maximise).
``HyperbandPruner`` builds its own per-bracket ``Study`` objects from ``study._storage``, so
wrapping the ``Study`` is not enough: the view has to be the storage itself.

Everything is delegated to the real storage (writes too: ``SuccessiveHalvingPruner`` records
its rung values as trial system attributes, which must be visible to every worker) except
:meth:`get_study_directions`.
"""

from __future__ import annotations

from optuna.storages import BaseStorage
from optuna.study import StudyDirection

from storage.view import StorageView


class SingleObjectiveView(StorageView):
    """``storage`` with every study reporting the one direction ``direction``."""

    def __init__(self, storage: BaseStorage, direction: StudyDirection) -> None:
        super().__init__(storage)
        self._direction = direction

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return [self._direction]
