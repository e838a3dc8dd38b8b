"""``storage.internals``: the private Optuna names we rely on still exist and mean the same.

If an Optuna release renames one of them, these fail by name, before any search does. Every
name ``storage.internals`` exports is pinned here (``PINNED`` says by which test), so a new
accessor without a pin fails too.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from optuna.trial import TrialState

from storage import internals
from storage.internals import (
    METRIC_NAMES_KEY,
    STALE_TRIAL_IDS,
    FrozenStudy,
    rdb_storage,
    stale_trial_ids,
    storage_of,
    storage_url,
    study_id,
    trial_id,
)
from storage.patient import RETRIED

pytestmark = [
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
    pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used"),
]

PINNED = {
    "storage_of": "test_ids_agree_with_the_public_api",
    "study_id": "test_ids_agree_with_the_public_api",
    "trial_id": "test_ids_agree_with_the_public_api",
    "FrozenStudy": "test_ids_agree_with_the_public_api",
    "rdb_storage": "test_the_rdb_storage_is_found_through_optunas_cache",
    "storage_url": "test_the_rdb_storage_is_found_through_optunas_cache",
    "METRIC_NAMES_KEY": "test_metric_names_are_stored_under_the_key",
    "stale_trial_ids": "test_stale_trial_ids_are_the_running_trials_that_stopped_beating",
    "STALE_TRIAL_IDS": "test_stale_trial_ids_are_the_running_trials_that_stopped_beating",
}


def test_every_accessor_is_pinned() -> None:
    assert set(internals.__all__) == set(PINNED), "pin each storage.internals name below"
    assert all(name in globals() for name in PINNED.values())


def test_ids_agree_with_the_public_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    first = optuna.create_study(study_name="first", storage=url)
    study = optuna.create_study(study_name="second", storage=url)
    trial = study.ask()
    study.tell(trial, 1.0)

    storage = storage_of(study)
    assert isinstance(storage, BaseStorage)
    assert study_id(study) == storage.get_study_id_from_name("second")
    assert study_id(study) != study_id(first)
    (frozen,) = study.get_trials()
    assert trial_id(trial) == trial_id(frozen)
    assert storage.get_trial(trial_id(frozen)).number == frozen.number
    studies = storage.get_all_studies()
    assert studies and all(isinstance(s, FrozenStudy) for s in studies)
    (second,) = [s for s in studies if s.study_name == "second"]
    assert study_id(second) == study_id(study), "FrozenStudy carries the storage id"
    (summary,) = [s for s in optuna.get_all_study_summaries(url) if s.study_name == "second"]
    assert study_id(summary) == study_id(study), "StudySummary carries the same id"


def test_the_rdb_storage_is_found_through_optunas_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="cached", storage=url)
    rdb = rdb_storage(storage_of(study))
    assert isinstance(rdb, RDBStorage) and rdb.url == url == storage_url(study)
    direct = RDBStorage(url)
    assert rdb_storage(direct) is direct
    assert rdb_storage(InMemoryStorage()) is None


def test_metric_names_are_stored_under_the_key(tmp_path: Path) -> None:
    study = optuna.create_study(
        study_name="named", storage=f"sqlite:///{tmp_path / 'nas.db'}", directions=["maximize"] * 2
    )
    study.set_metric_names(["val_accuracy", "macs"])
    attrs = storage_of(study).get_study_system_attrs(study_id(study))
    assert attrs[METRIC_NAMES_KEY] == ["val_accuracy", "macs"] == study.metric_names


def test_stale_trial_ids_are_the_running_trials_that_stopped_beating(tmp_path: Path) -> None:
    storage = RDBStorage(f"sqlite:///{tmp_path / 'nas.db'}", heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(study_name="beats", storage=storage)
    beating, silent, finished = study.ask(), study.ask(), study.ask()
    for trial in (beating, finished):
        storage.record_heartbeat(trial_id(trial))
    study.tell(finished, 1.0)
    assert stale_trial_ids(storage, study_id(study)) == []
    time.sleep(2.5)
    assert stale_trial_ids(storage, study_id(study)) == [trial_id(beating)]
    assert storage.get_trial(trial_id(silent)).state == TrialState.RUNNING
    assert callable(getattr(RDBStorage, STALE_TRIAL_IDS)) and STALE_TRIAL_IDS in RETRIED
