"""``SamplerView``: Optuna's samplers on our multi-objective studies, as Optuna expects them.

The search stores each epoch's signal (the first objective) as an intermediate value of its
trial, pruned ones included, so the dashboard and the pruners see the learning curves
(``docs/study-format.md``). Optuna itself never writes intermediate values in a multi-objective
study (``Trial.report`` refuses), and its samplers rely on that: ``TPESampler`` ranks a pruned
trial by its last intermediate value against ``study.direction``, which raises on a
multi-objective study (``RuntimeError: A single direction cannot be retrieved``; issue #10).

So a sampler is never handed the study itself: :class:`SamplerView` hands it a study over
:class:`PrunedWithoutCurves`, a storage view in which a pruned trial of a multi-objective study
carries no intermediate values, exactly what Optuna would have stored. Writes (NSGA-II
generations, TPE's constant-liar params) go through to the real storage.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from storage.internals import storage_of, trial_id
from storage.view import StorageView


class PrunedWithoutCurves(StorageView):
    """``storage`` with the intermediate values of PRUNED trials left out of every read."""

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return _without_curve(self.wrapped.get_trial(trial_id))

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        trials = self.wrapped.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        return [_without_curve(t) for t in trials]


def _without_curve(trial: FrozenTrial) -> FrozenTrial:
    if trial.state != TrialState.PRUNED or not trial.intermediate_values:
        return trial
    shown = copy.copy(trial)  # the storage's cached trial is shared: never mutate it
    shown.intermediate_values = {}
    return shown


class SamplerView(BaseSampler):
    """``inner`` sampling a multi-objective study through :class:`PrunedWithoutCurves`.

    One view study per trial, made in :meth:`before_trial` and dropped in :meth:`after_trial`,
    so its per-trial cache of all trials (``use_cache=True`` reads in TPE and NSGA-II) is as
    fresh as the real study's, which Optuna resets on every ``ask``. Single-objective studies
    are passed through.
    """

    def __init__(self, inner: BaseSampler) -> None:
        self.inner = inner
        self._views: dict[int, Study] = {}
        self.asked: int | None = None
        """The storage id of the trial the last ``Study.ask`` made or took from the queue:
        ``before_trial`` runs first in it, so a driver whose ``ask`` raised after that fails
        its own trial by id, never another driver's trial started meanwhile."""

    def __str__(self) -> str:
        return str(self.inner)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_views": {}}

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.inner.infer_relative_search_space(self._view(study, trial), trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.inner.sample_relative(self._view(study, trial), trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        view = self._view(study, trial)
        return self.inner.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.asked = trial_id(trial)
        self._views.pop(trial.number, None)
        self.inner.before_trial(self._view(study, trial), trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        try:
            self.inner.after_trial(self._view(study, trial), trial, state, values)
        finally:
            self._views.pop(trial.number, None)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()

    def _view(self, study: Study, trial: FrozenTrial) -> Study:
        if len(study.directions) < 2:
            return study
        view = self._views.get(trial.number)
        if view is None:
            storage = PrunedWithoutCurves(storage_of(study))
            view = optuna.study.Study(
                study_name=study.study_name, storage=storage, sampler=self, pruner=study.pruner
            )
            self._views[trial.number] = view
        return view
