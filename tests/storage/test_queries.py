"""``study_summaries`` and ``trial_table`` return what was written, by SQL and by public API."""

from __future__ import annotations

import math
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from storage import open_storage
from storage.internals import study_id, trial_id
from storage.queries import STATES, find_study_id, study_summaries, trial_table

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

SPEC = {"backbone": "resnet20", "stages": [{}, {}, {}]}


def _fill(storage: optuna.storages.BaseStorage, name: str) -> None:
    """A study in the docs/study-format.md shape with one trial in every interesting state."""
    study = optuna.create_study(
        storage=storage, study_name=name, directions=["maximize", "minimize"]
    )
    study.set_metric_names(["val_accuracy", "macs"])
    block = CategoricalDistribution(["none", "se"])
    attrs = {"spec": SPEC, "spec_id": "abc", "macs": 41_000_000, "params": 270_000}
    study.add_trial(
        create_trial(
            values=[0.91, 41e6],
            params={"block": "se"},
            distributions={"block": block},
            user_attrs={**attrs, "reference": "se_branch"},
            intermediate_values={1: 0.8, 2: 0.9, 3: 0.91},
        )
    )
    study.add_trial(create_trial(values=[0.5, math.inf], user_attrs={"spec_id": "inf"}))
    study.add_trial(
        create_trial(state=TrialState.PRUNED, intermediate_values={1: 0.1}, user_attrs=attrs)
    )
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "diverged"}))
    trial = study.ask()  # left RUNNING
    storage.set_trial_intermediate_value(trial_id(trial), 1, 0.3)


def test_trial_table_returns_what_was_written(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    _fill(storage, study_name)
    rows = trial_table(storage, study_name)
    assert [(r.number, r.state) for r in rows] == [
        (0, "COMPLETE"),
        (1, "COMPLETE"),
        (2, "PRUNED"),
        (3, "FAIL"),
        (4, "RUNNING"),
    ]
    first = rows[0]
    assert first.values == (0.91, 41e6)
    assert (first.spec, first.spec_id, first.macs, first.params) == (SPEC, "abc", 41e6, 270_000)
    assert first.reference == "se_branch" and first.n_intermediate == 3
    assert first.datetime_start is not None and first.datetime_complete is not None
    assert rows[1].values == (0.5, math.inf)
    assert rows[2].values is None and rows[2].n_intermediate == 1 and rows[2].reference is None
    assert rows[3].fail_reason == "diverged"
    assert rows[4].values is None and rows[4].n_intermediate == 1


def test_sql_and_public_api_agree(storage_url: str, study_name: str) -> None:
    sql_storage = open_storage(storage_url)
    memory = optuna.storages.InMemoryStorage()
    _fill(sql_storage, study_name)
    _fill(memory, study_name)

    def comparable(storage: optuna.storages.BaseStorage) -> list[tuple[object, ...]]:
        return [
            (r.number, r.state, r.values, dict(r.user_attrs), r.n_intermediate)
            for r in trial_table(storage, study_name)
        ]

    assert comparable(sql_storage) == comparable(memory)
    (mine,) = [s for s in study_summaries(sql_storage) if s.name == study_name]
    assert mine.to_dict() | {"created": None} == study_summaries(memory)[0].to_dict() | {
        "created": None
    }


def test_study_summaries(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    _fill(storage, study_name)
    optuna.create_study(storage=storage, study_name=study_name + "-empty")
    summaries = {s.name: s for s in study_summaries(storage)}
    filled, empty = summaries[study_name], summaries[study_name + "-empty"]
    assert filled.directions == ("maximize", "minimize")
    assert filled.metric_names == ("val_accuracy", "macs")
    assert filled.counts == {"COMPLETE": 2, "PRUNED": 1, "FAIL": 1, "RUNNING": 1}
    assert filled.n_trials == 5 and filled.created is not None
    assert filled.to_dict()["counts"] == dict(zip(STATES, [2, 1, 1, 1, 0]))
    assert (empty.n_trials, empty.created, empty.metric_names) == (0, None, None)


def test_keys_limit_the_user_attrs(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    _fill(storage, study_name)
    rows = trial_table(storage, study_name, keys=["macs", "reference"])
    assert rows[0].user_attrs == {"macs": 41_000_000, "reference": "se_branch"}
    assert rows[3].user_attrs == {}


def test_unknown_study_lists_the_studies(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    _fill(storage, study_name)
    with pytest.raises(ValueError, match=f"study 'nope' not found in .*{study_name}"):
        trial_table(storage, "nope")
    other = optuna.create_study(storage=storage, study_name=f"{study_name}-other")
    assert find_study_id(storage, f"{study_name}-other") == study_id(other)
    loaded = optuna.load_study(study_name=study_name, storage=storage)
    assert find_study_id(storage, study_name) == study_id(loaded) != study_id(other)


def test_unknown_study_in_empty_storage(tmp_path: object) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(ValueError, match="it has no studies yet"):
        find_study_id(storage, "attention-nas")


def test_numbers_limit_the_trials(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    _fill(storage, study_name)
    memory = optuna.storages.InMemoryStorage()
    _fill(memory, study_name)
    for backend in (storage, memory):
        rows = trial_table(backend, study_name, keys=["spec"], numbers={0, 2, 99})
        assert [(r.number, r.state, r.n_intermediate) for r in rows] == [
            (0, "COMPLETE", 3),
            (2, "PRUNED", 1),
        ]
        assert rows[0].user_attrs == {"spec": SPEC} and rows[0].values == (0.91, 41e6)
        assert trial_table(backend, study_name, numbers=[]) == []


def test_times_match_optunas_api_in_any_timezone(
    storage_url: str, study_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optuna 5 stores naive UTC and shows naive local time; the SQL path must agree."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no DST
    time.tzset()
    try:
        storage = open_storage(storage_url)
        _fill(storage, study_name)
        sid = storage.get_study_id_from_name(study_name)
        public = {t.number: t for t in storage.get_all_trials(sid)}
        for row in trial_table(storage, study_name):
            assert row.datetime_start == public[row.number].datetime_start
            assert row.datetime_complete == public[row.number].datetime_complete
        (summary,) = [s for s in study_summaries(storage) if s.name == study_name]
        assert summary.created == min(t.datetime_start for t in public.values() if t.datetime_start)
    finally:
        monkeypatch.undo()
        time.tzset()
