"""``ParetoPruner``: asynchronous multi-objective successive halving over (accuracy, MACs).

Schmucker et al., "Multi-objective Asynchronous Successive Halving", 2021
(https://arxiv.org/abs/2106.12639), after ASHA (Li et al., MLSys 2020,
https://arxiv.org/abs/1810.05934). Rungs sit at epochs ``min_resource * reduction_factor**k``.
When a trial's latest intermediate value is at a rung epoch, it is compared with every trial
that has a value at that epoch (running, complete or pruned; not waiting): the vector
(accuracy at the rung, maximise; ``user_attrs["macs"]``, minimise) is ranked by non-dominated
front, then crowding distance (:mod:`nas.pruning.ranking`), and the trial goes on only if fewer
than ``ceil(n / reduction_factor)`` trials rank strictly ahead of it.

Accuracy-only pruning kills a cheap model as soon as its accuracy trails the median, yet a cheap
model with mediocre accuracy can sit on the accuracy/MACs front. MACs are exact before training
(``searchspace.cost``), so only the accuracy coordinate is a low-fidelity estimate here.

Like ASHA, the decision is taken once, at arrival, against the trials seen so far, so workers
never wait for a rung to fill. Everything is read from the study's storage, so any worker on
any node takes the same decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from nas.pruning.ranking import places_ahead


class ParetoPruner(BasePruner):
    """Prune a trial that falls outside the top ``1/reduction_factor`` of its rung's Pareto order.

    Args:
        min_resource: epoch of the first rung (>= 1).
        reduction_factor: ``eta`` (>= 2): rung ``k`` is at epoch ``min_resource * eta**k`` and
            keeps the top ``ceil(n / eta)`` of the ``n`` trials that reached it.
        min_trials_per_rung: warm-up; nothing is pruned at a rung until at least this many
            trials (the judged one included) have a value there. Default: ``reduction_factor``.
        max_resource: the full training budget in epochs, if known; no rung at or past it
            (pruning a trial that has finished training saves nothing).
        cost_attrs: trial user attributes minimised next to accuracy, known before training.
            A trial missing any of them, or with a NaN, is never pruned by this pruner and is
            not counted at the rung (it cannot be placed against the others).

    Intermediate values are validation accuracy (maximised), one per epoch
    (``docs/study-format.md``). A NaN accuracy at a rung is pruned (the run diverged).
    """

    def __init__(
        self,
        *,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_trials_per_rung: int | None = None,
        max_resource: int | None = None,
        cost_attrs: Sequence[str] = ("macs",),
    ) -> None:
        if min_resource < 1:
            raise ValueError(f"min_resource={min_resource}: must be an epoch >= 1")
        if reduction_factor < 2:
            raise ValueError(f"reduction_factor={reduction_factor}: must be >= 2")
        warm_up = reduction_factor if min_trials_per_rung is None else min_trials_per_rung
        if warm_up < 1:
            raise ValueError(f"min_trials_per_rung={min_trials_per_rung}: must be >= 1")
        if max_resource is not None and max_resource < min_resource:
            raise ValueError(f"max_resource={max_resource}: must be >= min_resource")
        if isinstance(cost_attrs, str) or not cost_attrs:
            raise ValueError(f"cost_attrs={cost_attrs!r}: give a list of user attribute names")
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_trials_per_rung = warm_up
        self.max_resource = max_resource
        self.cost_attrs = tuple(cost_attrs)

    def rungs(self, max_epoch: int) -> list[int]:
        """Rung epochs up to ``max_epoch`` (inclusive), respecting ``max_resource``."""
        return [e for e in range(1, max_epoch + 1) if self.is_rung(e)]

    def is_rung(self, epoch: int) -> bool:
        """Whether ``epoch`` is ``min_resource * reduction_factor**k`` for some ``k >= 0``."""
        if self.max_resource is not None and epoch >= self.max_resource:
            return False
        rung = self.min_resource
        while rung < epoch:
            rung *= self.reduction_factor
        return rung == epoch

    def prune(self, study: optuna.study.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or not self.is_rung(step):
            return False
        costs = self._costs(trial)
        if costs is None:
            return False
        accuracy = trial.intermediate_values[step]
        if math.isnan(accuracy):
            return True
        rows = [*self._rung_rows(study, trial, step), [accuracy, *costs]]
        if len(rows) < self.min_trials_per_rung:
            return False
        directions = ["maximize"] + ["minimize"] * len(costs)
        ahead = places_ahead(np.asarray(rows), directions)
        keep = math.ceil(len(rows) / self.reduction_factor)
        return bool(ahead[-1] >= keep)

    def _rung_rows(
        self, study: optuna.study.Study, trial: FrozenTrial, step: int
    ) -> list[list[float]]:
        """``[accuracy at step, *costs]`` of every other trial placed at rung ``step``."""
        rows: list[list[float]] = []
        for other in study.get_trials(deepcopy=False):
            if other.number == trial.number or other.state == TrialState.WAITING:
                continue
            accuracy = other.intermediate_values.get(step)
            costs = self._costs(other)
            if accuracy is None or costs is None or math.isnan(accuracy):
                continue
            rows.append([accuracy, *costs])
        return rows

    def _costs(self, trial: FrozenTrial) -> list[float] | None:
        values = [trial.user_attrs.get(key) for key in self.cost_attrs]
        if any(not isinstance(v, int | float) or math.isnan(v) for v in values):
            return None
        return [float(v) for v in values]  # type: ignore[arg-type]
