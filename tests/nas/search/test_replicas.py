"""Replicas of the reference designs, without Ray: queued once at other proxy seeds, trained
at their seed, never reused either way, measured as ``noise:proxy``, folded on the front.

Real Optuna studies in real SQLite files; Ray's callbacks are called the way Tune calls them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.results.front import StudyFront
from nas.results.noise_record import records
from nas.results.replica_noise import UNMEASURED, measure_proxy_noise
from nas.search.study import prepare_study
from nas.search.trials import INTERRUPTED
from nas.space import SearchSpace
from storage import open_storage
from tests.nas.search.searcher_setup import NONE, SHAPE, TINY, _final, _setup
from workers.trainable import RESUME_KEY

BUDGET = {"epochs": 2, "seed": 0, "val_samples": 1000}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def _config(noise: dict[str, int]) -> SearchConfig:
    return SearchConfig.from_dict({**TINY, "search": {"pruner": "none"}, "noise": noise})


def test_replicas_are_queued_once_after_the_references(url: str) -> None:
    config = _config({"specs": 1, "seeds": 3})
    space = SearchSpace(config.space, **SHAPE)
    study, notes = prepare_study(config, open_storage(url), space)
    prepare_study(config, open_storage(url), space)  # a resume queues nothing again
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs.get("reference") for t in waiting] == [
        "no_attention",
        "se_branch",
        None,
        None,
    ]
    replicas = waiting[2:]
    assert [t.user_attrs["seed"] for t in replicas] == [1, 2]
    assert all(t.user_attrs["replica_of"] == 0 for t in replicas)
    assert all(t.system_attrs["fixed_params"] == NONE for t in replicas)
    assert "queued 2 replicas of no_attention at proxy seeds 1, 2" in notes[-1]

    off = _config({"specs": 0})
    other = f"{url[:-3]}-off.db"
    quiet, _ = prepare_study(off, open_storage(other), SearchSpace(off.space, **SHAPE))
    assert not any("replica_of" in t.user_attrs for t in quiet.trials)


def test_a_replica_trains_at_its_seed_and_is_never_reused(url: str) -> None:
    study, searcher = _setup(url, trials=8, noise=2)
    searcher.budget = dict(BUDGET)
    configs = {name: searcher.suggest(name) for name in ("ref0", "ref1", "rep0", "rep1")}
    assert configs["ref0"] is not None and configs["rep0"] is not None
    assert configs["ref0"]["budget"]["seed"] == 0 and configs["rep0"]["budget"]["seed"] == 1
    assert configs["rep0"]["spec"] == configs["ref0"]["spec"], "the same design, trained twice"
    assert configs["rep0"][RESUME_KEY] != configs["ref0"][RESUME_KEY], "its own resume state"
    assert study.trials[2].user_attrs["proxy"]["seed"] == 1
    for name, accuracy in (("ref0", 0.60), ("ref1", 0.70), ("rep0", 0.64), ("rep1", 0.66)):
        searcher.on_trial_complete(name, _final(accuracy))
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert not any("reused_from" in t.user_attrs for t in trials), "a replica trains itself"
    assert [t.values[0] for t in trials] == [0.60, 0.70, 0.64, 0.66]
    study.enqueue_trial(NONE)  # the sampler draws the spec again: the original's run is reused
    searcher.suggest("again")
    assert study.trials[4].user_attrs["reused_from"] == 0

    record, line = measure_proxy_noise(study, _config({"specs": 2}), BUDGET)
    assert record is not None and (record.specs, record.runs) == (2, 4)
    assert record.budget == {"epochs": 2, "val_samples": 1000}, "the seed is what varies"
    assert records(study.user_attrs)["proxy"] == record
    assert line.startswith("proxy noise: one run varies by ±") and "not resolved" in line

    front = StudyFront.load(open_storage(url), study.study_name)
    numbers = [m.number for m in front.members]
    assert 2 not in numbers and 3 not in numbers, "a replica is no member of its own"
    for member, mean in ((front.members[0], 0.62), (front.members[-1], 0.68)):
        estimate = member.estimate("proxy")
        assert estimate.n == 2 and estimate.mean == pytest.approx(mean)


def test_an_interrupted_replica_is_queued_again_as_a_replica(url: str) -> None:
    study, searcher = _setup(url, trials=6, noise=1)
    for name in ("ref0", "ref1", "rep0"):
        searcher.suggest(name)
    searcher.on_trial_complete("rep0", {"epoch": 1})  # stopped before its end
    assert study.trials[2].user_attrs["fail_reason"] == INTERRUPTED
    requeued = study.get_trials(states=(TrialState.WAITING,))[-1]
    assert requeued.user_attrs["replica_of"] == 0 and requeued.user_attrs["seed"] == 1


def test_no_replica_trained_leaves_the_noise_unmeasured_with_a_note(url: str) -> None:
    study, searcher = _setup(url, trials=6, noise=1)
    for name in ("ref0", "ref1", "rep0"):
        searcher.suggest(name)
    searcher.on_trial_complete("ref0", _final(0.6))
    searcher.ledger.flying["rep0"].pruned = True
    searcher.on_trial_complete("rep0", {"epoch": 1, searcher.signal: 0.3})
    record, line = measure_proxy_noise(study, _config({"specs": 1}), BUDGET)
    assert record is None and "noise:proxy" not in study.user_attrs
    assert "not measured" in line and "1 PRUNED" in line and "no measured noise" in line
    assert measure_proxy_noise(study, _config({"specs": 0}), BUDGET) == (None, UNMEASURED)
