"""Samplers on the studies the search writes, and the search's Ray-side objects under pickling.

Real Optuna studies in real SQLite files; no Ray cluster: ``tune.Tuner(...)`` pickles its
search algorithm and scheduler when it is created, which is where Optuna 5.1's NSGA-II sampler
(a thread lock inside) broke ``nas search`` before its first trial (issue #10).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.pruning import PRUNERS, ParetoPruner
from nas.sampling import SAMPLERS, PrunedWithoutCurves, SamplerView, make_sampler
from nas.search.scheduler import PruningScheduler
from nas.search.searcher import StudySearcher
from nas.search.study import StudyHandle, prepare_study
from nas.search.trials import record_epoch
from nas.space import SearchSpace
from storage import open_storage
from storage.internals import storage_of, trial_id
from storage.internals import study_id as storage_study_id

optuna.logging.set_verbosity(optuna.logging.WARNING)
SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}
SPACE = {"blocks": ["none", "se", "eca"], "positions": ["branch", "stage_end"]}


def _search(tmp_path: Path, sampler: str, pruner: str = "pareto", **sampler_options: Any) -> Any:
    config = SearchConfig.from_dict(
        {
            "search": {"sampler": sampler, "pruner": pruner, "trials": 20},
            "space": SPACE,
            "sampler": sampler_options,
        }
    )
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    space = SearchSpace(config.space, **SHAPE)
    study, _ = prepare_study(config, open_storage(url), space, epochs=3)
    handle = StudyHandle(config, url, 3, study)
    searcher = StudySearcher(
        handle,
        space,
        data={},
        budget={"epochs": 3},
        target=config.search.trials,
        artifacts=None,
    )
    return handle, searcher


def _run(searcher: StudySearcher, n: int, curve: tuple[float, ...] = (0.3, 0.5, 0.6)) -> None:
    """Trials as Tune drives them until ``n`` are finished (reused specs count, told at once):
    every third trained one is pruned after epoch 1, the others complete."""
    for i in range(10 * n):
        if searcher.ledger.tally.finished >= n:
            return
        key = f"t{i}"
        if searcher.suggest(key) is None:
            continue
        entry, signal = searcher.ledger.flying[key], searcher.signal  # what the trainable reports
        if i % 3 == 2:
            record_epoch(searcher.study, trial_id(entry.trial), {"epoch": 1, signal: 0.2}, signal)
            entry.pruned = True
            searcher.on_trial_complete(key, {"epoch": 1, signal: 0.2})
            continue
        accuracy = curve[-1] - 0.01 * i
        for epoch, value in enumerate(curve[:-1], start=1):
            record_epoch(
                searcher.study, trial_id(entry.trial), {"epoch": epoch, signal: value}, signal
            )
        searcher.on_trial_complete(key, {"epoch": 3, signal: accuracy, "done": True})
    raise AssertionError(f"{n} trials did not finish: {searcher.ledger.tally}")


@pytest.mark.parametrize("sampler", SAMPLERS.names())
def test_tuner_pickles_searcher_and_scheduler(tmp_path: Path, sampler: str) -> None:
    from ray import tune

    handle, searcher = _search(tmp_path, sampler)
    scheduler = PruningScheduler(handle, searcher.ledger)
    tune.Tuner(
        lambda config: None,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=-1),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="pickled"),
    )
    _run(searcher, 2)
    assert searcher.ledger.tally.finished == 2
    restored = pickle.loads(pickle.dumps(searcher))
    assert restored.study is not searcher.study, "the study is reopened, not unpickled"
    assert restored.study.study_name == searcher.study.study_name
    assert len(restored.study.trials) == len(searcher.study.trials)
    assert isinstance(restored.study.sampler, SamplerView)
    assert type(restored.study.sampler.inner) is type(searcher.study.sampler.inner)
    assert restored.ledger.flying == {}
    pruner = pickle.loads(pickle.dumps(scheduler)).study.pruner
    assert isinstance(pruner, ParetoPruner), "the config's pruner, not Optuna's default"
    assert pruner.max_resource == 3, "rebuilt with the proxy's epochs"


@pytest.mark.parametrize("sampler", SAMPLERS.names())
def test_sampler_proposes_past_startup_with_pruned_curves_stored(
    tmp_path: Path, sampler: str
) -> None:
    options = {"population_size": 3} if sampler == "nsga2" else {}
    if sampler in ("tpe", "gp"):
        options = {"n_startup_trials": 3}
    handle, searcher = _search(tmp_path, sampler, **options)
    _run(searcher, 12)
    study = handle.study
    assert searcher.ledger.tally.finished >= 12
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned and all(t.intermediate_values == {1: 0.2} for t in pruned), "curves are kept"
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) >= 6


def test_view_hides_pruned_curves_from_samplers_only(tmp_path: Path) -> None:
    handle, searcher = _search(tmp_path, "tpe", n_startup_trials=2)
    _run(searcher, 3)
    storage = storage_of(handle.study)
    view = PrunedWithoutCurves(storage)
    study_id = storage_study_id(handle.study)
    real = {t.number: t for t in storage.get_all_trials(study_id)}
    seen = {t.number: t for t in view.get_all_trials(study_id, deepcopy=False)}
    (pruned,) = [n for n, t in real.items() if t.state == TrialState.PRUNED]
    assert real[pruned].intermediate_values == {1: 0.2} and seen[pruned].intermediate_values == {}
    assert view.get_trial(trial_id(real[pruned])).intermediate_values == {}
    assert storage.get_trial(trial_id(real[pruned])).intermediate_values == {1: 0.2}
    complete = [n for n, t in real.items() if t.state == TrialState.COMPLETE]
    assert all(seen[n].intermediate_values == real[n].intermediate_values for n in complete)


def test_tpe_on_a_study_with_pruned_curves(tmp_path: Path) -> None:
    """The crash of issue #10: ``nas search --sampler tpe`` after its start-up trials."""
    _, searcher = _search(tmp_path, "tpe", n_startup_trials=2)
    _run(searcher, 8)
    assert searcher.ledger.tally.pruned >= 2


def test_sampler_options_are_checked_when_the_config_is_read() -> None:
    with pytest.raises(ValueError, match=r"sampler\.population: unknown key for sampler 'nsga2'"):
        SearchConfig.from_dict({"sampler": {"population": 4}})
    with pytest.raises(ValueError, match=r"sampler\.seed: set by the search itself"):
        SearchConfig.from_dict({"sampler": {"seed": 1}})
    with pytest.raises(ValueError, match="population_size=1: must be >= 2"):
        SearchConfig.from_dict({"sampler": {"population_size": 1}})
    with pytest.raises(
        ValueError, match=r"search\.sampler: 'cmaes' is not allowed; allowed: nsga2"
    ):
        SearchConfig.from_dict({"search": {"sampler": "cmaes"}})
    with pytest.raises(ValueError, match=r"pruner\.eta: unknown key for pruner 'pareto'"):
        SearchConfig.from_dict({"pruner": {"eta": 3}})
    with pytest.raises(ValueError, match="n_startup_trials=-1: must be an integer >= 0"):
        SearchConfig.from_dict({"search": {"sampler": "tpe"}, "sampler": {"n_startup_trials": -1}})
    nsga2_options = SearchConfig.from_dict({"sampler": {"population_size": 4}})
    with pytest.raises(ValueError, match="population_size: unknown key for sampler 'tpe'"):
        nsga2_options.with_overrides(sampler="tpe")  # --sampler tpe on an NSGA-II config
    config = SearchConfig.from_dict(
        {"search": {"sampler": "tpe"}, "sampler": {"constant_liar": True}}
    )
    assert config.to_dict()["sampler"] == {"constant_liar": True}


def test_a_registered_sampler_is_accepted_everywhere(tmp_path: Path) -> None:
    @SAMPLERS.register("qmc-test")
    def qmc(*, seed: int | None = None) -> optuna.samplers.BaseSampler:
        return SamplerView(optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False))

    try:
        _, searcher = _search(tmp_path, "qmc-test")
        _run(searcher, 3)
        assert isinstance(make_sampler("qmc-test", seed=0), SamplerView)
    finally:
        SAMPLERS.unregister("qmc-test")
    with pytest.raises(ValueError, match="'qmc-test' is not allowed"):
        SearchConfig.from_dict({"search": {"sampler": "qmc-test"}})


def test_a_registered_pruner_runs_through_the_config(tmp_path: Path) -> None:
    """One ``@PRUNERS.register`` entry is the whole of a new pruner: ``[search] pruner`` and
    its ``[pruner]`` options are checked against it, and the scheduler stops on its verdict."""
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

    @PRUNERS.register("floor-test")
    def floor(*, floor: float = 0.0, max_resource: int | None = None) -> optuna.pruners.BasePruner:
        return optuna.pruners.ThresholdPruner(lower=floor)

    try:
        with pytest.raises(
            ValueError, match=r"pruner\.ceiling: unknown key for pruner 'floor-test'"
        ):
            SearchConfig.from_dict({"search": {"pruner": "floor-test"}, "pruner": {"ceiling": 1}})
        config = SearchConfig.from_dict(
            {"search": {"pruner": "floor-test"}, "space": SPACE, "pruner": {"floor": 0.4}}
        )
        url = f"sqlite:///{tmp_path / 'nas.db'}"
        space = SearchSpace(config.space, **SHAPE)
        study, _ = prepare_study(config, open_storage(url), space, epochs=3)
        handle = StudyHandle(config, url, 3, study)
        searcher = StudySearcher(
            handle, space, data={}, budget={"epochs": 3}, target=4, artifacts=None
        )
        scheduler = PruningScheduler(handle, searcher.ledger)
        verdicts = []
        for key, score in (("low", 0.2), ("high", 0.6)):
            assert searcher.suggest(key) is not None
            result = {"epoch": 1, searcher.signal: score, "time_total_s": 1.0}
            verdicts.append(
                scheduler.on_trial_result(None, Trial("t", trial_id=key, stub=True), result)
            )
            searcher.on_trial_complete(key, {**result, "epoch": 3, "done": True})
    finally:
        PRUNERS.unregister("floor-test")
    assert verdicts == [TrialScheduler.STOP, TrialScheduler.CONTINUE]
    assert [t.state for t in study.trials[:2]] == [TrialState.PRUNED, TrialState.COMPLETE]
