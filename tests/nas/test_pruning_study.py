"""Pruners on real multi-objective Optuna studies in SQLite, driven the way ``nas search`` does.

The search contract (``nas/pruning/__init__.py``): write the epoch's accuracy with
``storage.set_trial_intermediate_value``, ask ``study.pruner.prune(study, frozen_trial)``, tell
a pruned trial PRUNED, a finished one COMPLETE with ``[best accuracy, macs]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.pruning import PRUNERS, ParetoPruner, make_pruner
from nas.results.pareto import pareto_mask
from storage import open_storage
from storage.internals import storage_of, trial_id

optuna.logging.set_verbosity(optuna.logging.WARNING)


def new_study(tmp_path: Path, pruner: optuna.pruners.BasePruner) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    return optuna.create_study(
        study_name="attention-nas",
        storage=storage,
        directions=["maximize", "minimize"],
        pruner=pruner,
    )


def train(
    study: optuna.Study, curve: Sequence[float], macs: int | None = 10**9, **costs: int
) -> optuna.trial.FrozenTrial:
    """One trial as the search runs it: accuracy per epoch, a pruning decision after each;
    ``costs`` are more user attributes (``cost_attrs``)."""
    trial = study.ask()
    if macs is not None:
        trial.set_user_attr("macs", macs)
    for name, value in costs.items():
        trial.set_user_attr(name, value)
    storage = storage_of(study)
    for epoch, accuracy in enumerate(curve, start=1):
        storage.set_trial_intermediate_value(trial_id(trial), epoch, accuracy)
        if study.pruner.prune(study, storage.get_trial(trial_id(trial))):
            return study.tell(trial, state=TrialState.PRUNED)
    return study.tell(trial, [max(curve), macs or 0])


def test_pareto_keeps_the_cheap_trial_and_prunes_the_dominated_one(tmp_path: Path) -> None:
    study = new_study(tmp_path, ParetoPruner(min_resource=1, reduction_factor=3))
    accurate = train(study, [0.80, 0.85, 0.88], macs=4_000_000_000)
    middle = train(study, [0.70, 0.78, 0.82], macs=2_000_000_000)
    cheap = train(study, [0.55, 0.65, 0.70], macs=300_000_000)
    dominated = train(study, [0.60, 0.70, 0.75], macs=3_000_000_000)
    assert [t.state for t in (accurate, middle, cheap)] == [TrialState.COMPLETE] * 3
    assert dominated.state == TrialState.PRUNED
    assert dominated.intermediate_values == {1: 0.60}


def test_median_prunes_the_cheap_trial_the_pareto_pruner_keeps(tmp_path: Path) -> None:
    study = new_study(tmp_path, make_pruner("median", n_startup_trials=3))
    for curve, macs in [([0.80, 0.88], 4e9), ([0.70, 0.82], 2e9), ([0.75, 0.84], 3e9)]:
        assert train(study, curve, macs=int(macs)).state == TrialState.COMPLETE
    cheap = train(study, [0.55, 0.70], macs=300_000_000)
    assert cheap.state == TrialState.PRUNED


def test_warm_up_and_rung_epochs(tmp_path: Path) -> None:
    study = new_study(tmp_path, ParetoPruner(min_resource=1, reduction_factor=3))
    best = train(study, [0.9, 0.9, 0.9, 0.9], macs=10**8)
    worse = train(study, [0.1, 0.1, 0.1, 0.1], macs=10**9)
    assert worse.state == TrialState.COMPLETE, "second trial at the rung: still warming up"
    third = train(study, [0.1, 0.95, 0.95, 0.1], macs=10**9)
    assert best.state == TrialState.COMPLETE
    assert third.state == TrialState.PRUNED
    assert sorted(third.intermediate_values) == [1]

    (tmp_path / "late").mkdir()
    late = new_study(tmp_path / "late", ParetoPruner(min_resource=2, reduction_factor=2))
    for _ in range(3):
        train(late, [0.9, 0.9, 0.9, 0.9, 0.9], macs=10**8)
    slow = train(late, [0.1, 0.1, 0.1, 0.1, 0.1], macs=10**9)
    assert sorted(slow.intermediate_values) == [1, 2], "first rung at epoch 2"


def test_min_trials_per_rung_sets_the_warm_up(tmp_path: Path) -> None:
    """Four ever worse trials after a good one: the default warm-up (``reduction_factor``, 3
    trials at the rung) prunes from the third, ``min_trials_per_rung=5`` only the fifth."""

    def states(**options: int) -> list[TrialState]:
        path = tmp_path / str(options)
        path.mkdir()
        study = new_study(path, make_pruner("pareto", reduction_factor=3, **options))
        train(study, [0.9, 0.9], macs=10**8)
        return [train(study, [acc, acc], macs=10**9).state for acc in (0.4, 0.3, 0.2, 0.1)]

    c, p = TrialState.COMPLETE, TrialState.PRUNED
    assert states() == [c, p, p, p]
    assert states(min_trials_per_rung=5) == [c, c, c, p]


def test_cost_attrs_add_an_objective(tmp_path: Path) -> None:
    """Worse on the signal and on MACs than the first trials, a trial with the fewest
    parameters is on the rung's first front once ``params`` is a cost too."""

    def slim_trial(cost_attrs: tuple[str, ...]) -> TrialState:
        (tmp_path / cost_attrs[-1]).mkdir()
        study = new_study(tmp_path / cost_attrs[-1], make_pruner("pareto", cost_attrs=cost_attrs))
        for _ in range(3):
            train(study, [0.9, 0.9], macs=10**8, params=10**6)
        return train(study, [0.5, 0.5], macs=10**9, params=10**4).state

    assert slim_trial(("macs",)) == TrialState.PRUNED
    assert slim_trial(("macs", "params")) == TrialState.COMPLETE


def test_trial_without_macs_is_never_pruned_nor_counted(tmp_path: Path) -> None:
    study = new_study(tmp_path, ParetoPruner(min_resource=1, reduction_factor=3))
    for _ in range(3):
        train(study, [0.9, 0.9], macs=10**8)
    assert train(study, [0.1, 0.1], macs=None).state == TrialState.COMPLETE
    assert train(study, [0.1, 0.1], macs=10**9).state == TrialState.PRUNED


def test_max_resource_leaves_the_last_epoch_alone(tmp_path: Path) -> None:
    pruner = ParetoPruner(min_resource=1, reduction_factor=3, max_resource=3)
    assert pruner.rungs(27) == [1]
    study = new_study(tmp_path, pruner)
    for _ in range(3):
        train(study, [0.1, 0.5, 0.9], macs=10**8)
    assert train(study, [0.2, 0.3, 0.1], macs=10**9).state == TrialState.COMPLETE


def test_accuracy_pruners_leave_the_last_epoch_alone_given_max_resource(tmp_path: Path) -> None:
    study = new_study(tmp_path, make_pruner("median", n_startup_trials=2, max_resource=2))
    for _ in range(2):
        train(study, [0.5, 0.9], macs=10**8)
    assert train(study, [0.6, 0.1], macs=10**8).state == TrialState.COMPLETE
    study.pruner = make_pruner("median", n_startup_trials=2)
    assert train(study, [0.6, 0.1], macs=10**8).state == TrialState.PRUNED


def test_every_pruner_accepts_the_epoch_budget() -> None:
    for name in PRUNERS:
        assert "max_resource" in PRUNERS.options(name), name
        make_pruner(name, max_resource=4)


def test_nan_accuracy_at_a_rung_is_pruned(tmp_path: Path) -> None:
    study = new_study(tmp_path, ParetoPruner())
    assert train(study, [float("nan"), 0.5], macs=10**8).state == TrialState.PRUNED


def test_optuna_pruners_alone_refuse_multi_objective_studies(tmp_path: Path) -> None:
    study = new_study(tmp_path, optuna.pruners.NopPruner())
    train(study, [0.9, 0.9], macs=10**8)
    study.pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    with pytest.raises(RuntimeError, match="multi-objective"):
        train(study, [0.1, 0.1], macs=10**8)


@pytest.mark.parametrize("name", PRUNERS.names())
def test_every_registered_pruner_runs_a_multi_objective_study(tmp_path: Path, name: str) -> None:
    options = {"max_resource": 4} if name == "hyperband" else {}
    study = new_study(tmp_path, make_pruner(name, **options))
    good = [0.5 + 0.1 * epoch for epoch in range(4)]
    for index in range(5):
        assert train(study, good, macs=(5 - index) * 10**8).state == TrialState.COMPLETE
    bad = train(study, [0.01] * 4, macs=10**10)
    if name == "none":
        assert bad.state == TrialState.COMPLETE
    else:
        assert bad.state == TrialState.PRUNED, name
        assert len(bad.intermediate_values) < 4
    complete = study.get_trials(states=[TrialState.COMPLETE])
    front = pareto_mask([t.values for t in complete], ["maximize", "minimize"])
    assert bad.number not in {t.number for t, on in zip(complete, front) if on}


def test_successive_halving_rung_values_land_in_the_real_storage(tmp_path: Path) -> None:
    study = new_study(tmp_path, make_pruner("successive_halving"))
    trial = train(study, [0.5, 0.6, 0.7])
    assert trial.system_attrs["completed_rung_0"] == 0.5
    assert trial.system_attrs["completed_rung_1"] == 0.7


def test_unknown_names_and_options_are_user_errors() -> None:
    with pytest.raises(ValueError, match="unknown pruner 'asha'; choose one of pareto"):
        make_pruner("asha")
    with pytest.raises(ValueError, match="has no option 'eta'; accepted: min_resource"):
        make_pruner("pareto", eta=3)
    with pytest.raises(ValueError, match="reduction_factor=1"):
        make_pruner("pareto", reduction_factor=1)
    assert PRUNERS.names()[0] == "pareto"
