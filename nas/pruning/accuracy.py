"""``AccuracyPruner``: Optuna's single-objective pruners on the accuracy of a multi-objective study.

This is the baseline the Pareto pruner is measured against (``docs/pruning.md``): it judges a
trial by its validation accuracy alone, whatever its MACs.
"""

from __future__ import annotations

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial

from nas.pruning.objective_view import SingleObjectiveView
from storage.internals import storage_of


class AccuracyPruner(BasePruner):
    """Run ``inner`` (an Optuna single-objective pruner) on the intermediate values only.

    The study is handed to ``inner`` through :class:`SingleObjectiveView` with the direction
    of the study's first objective (maximise): intermediate values are that objective's signal
    per epoch (``[objectives] signal``, by default ``neg_tail_loss``; ``docs/study-format.md``).
    Single-objective studies pass through unchanged in effect.

    Args:
        inner: e.g. ``optuna.pruners.MedianPruner()``.
        max_resource: the full training budget in epochs, if known: nothing is pruned at or
            past it. Optuna's pruners would otherwise prune a trial at its last epoch, which
            saves nothing and drops a fully trained model from the front.
    """

    def __init__(self, inner: BasePruner, *, max_resource: int | None = None) -> None:
        if max_resource is not None and max_resource < 1:
            raise ValueError(f"max_resource={max_resource}: must be an epoch count >= 1")
        self.inner = inner
        self.max_resource = max_resource

    def prune(self, study: optuna.study.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if self.max_resource is not None and step is not None and step >= self.max_resource:
            return False
        view = SingleObjectiveView(storage_of(study), study.directions[0])
        accuracy_study = optuna.study.Study(
            study_name=study.study_name, storage=view, sampler=study.sampler, pruner=self.inner
        )
        return self.inner.prune(accuracy_study, trial)
