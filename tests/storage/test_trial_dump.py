"""``stored_trials`` reads by SQL what Optuna's own ``get_all_trials`` builds from the same rows."""

from __future__ import annotations

import json
import math

import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    json_to_distribution,
)
from optuna.trial import FrozenTrial, TrialState, create_trial

from storage import open_storage
from storage.internals import study_id, trial_id
from storage.trial_dump import StoredTrial, frozen_trials, stored_trials, trial_states

SPACE = {
    "block": CategoricalDistribution(["none", "se", None, 3]),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "depth": IntDistribution(1, 8),
}


def _fill(study: optuna.Study) -> None:
    for i, state in enumerate([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]):
        study.add_trial(
            create_trial(
                state=state,
                values=[0.5 + i, -math.inf] if state == TrialState.COMPLETE else None,
                params={"block": [None, 3, "se"][i], "lr": 0.01, "depth": 3 + i},
                distributions=SPACE,
                user_attrs={"spec": {"stages": [i]}, "macs": 10 + i, "z": "é", "a": None},
                system_attrs={"constraints": [0.1 * i], "fixed_params": {"depth": 3}},
                intermediate_values={2: 0.5, 1: math.nan, 3: math.inf},
            )
        )
    running = study.ask(SPACE)
    running.set_user_attr("epochs_trained", 1)
    study.enqueue_trial({"lr": 0.05})


def _as_optuna_builds_it(stored: StoredTrial) -> dict[str, object]:
    distributions = {name: json_to_distribution(d) for name, _, d in stored.params}
    return {
        "number": stored.number,
        "state": TrialState[stored.state],
        "values": None if stored.values is None else list(stored.values),
        "params": {n: distributions[n].to_external_repr(v) for n, v, _ in stored.params},
        "distributions": distributions,
        "user_attrs": {k: json.loads(v) for k, v in stored.user_attrs},
        "system_attrs": {k: json.loads(v) for k, v in stored.system_attrs},
        "intermediate_values": dict(stored.intermediate_values),
        "datetime_start": stored.datetime_start,
        "datetime_complete": stored.datetime_complete,
    }


def _fields(trial: FrozenTrial) -> dict[str, object]:
    return {
        "number": trial.number,
        "state": trial.state,
        "values": trial.values,
        "params": trial.params,
        "distributions": trial.distributions,
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
        "intermediate_values": trial.intermediate_values,
        "datetime_start": trial.datetime_start,
        "datetime_complete": trial.datetime_complete,
    }


def _comparable(fields: dict[str, object]) -> str:
    """Equal for equal fields: NaN included, the order of a dict's keys left out."""
    return json.dumps(fields, sort_keys=True, default=repr)


def test_rows_are_what_optuna_reads(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        directions=["maximize", "maximize"],
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    _fill(study)
    sid = study_id(study)
    stored = stored_trials(storage, sid)
    expected = storage.get_all_trials(sid)
    assert [_comparable(_as_optuna_builds_it(s)) for s in stored] == [
        _comparable(_fields(t)) for t in expected
    ]
    assert [s.trial_id for s in stored] == [trial_id(t) for t in expected]
    built = frozen_trials(storage, sid)
    assert [_comparable(_fields(t)) for t in built] == [_comparable(_fields(t)) for t in expected]
    assert [trial_id(t) for t in built] == [trial_id(t) for t in expected]
    assert [s.finished for s in stored] == [True, True, True, False, False]
    assert [k for k, _ in stored[0].user_attrs] == ["a", "macs", "spec", "z"]  # by key
    assert trial_states(storage, sid) == [
        (s.trial_id, s.number, s.state, s.datetime_start) for s in stored
    ]
    some = [stored[1].trial_id, stored[3].trial_id]
    assert stored_trials(storage, sid, some) == [stored[1], stored[3]]
    assert stored_trials(storage, sid, []) == []


def test_a_storage_that_is_not_a_database_is_refused() -> None:
    with pytest.raises(ValueError, match="not a database storage"):
        stored_trials(optuna.storages.InMemoryStorage(), 0)
