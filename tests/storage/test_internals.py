"""``storage.internals``: the private Optuna attributes we rely on still exist and mean the same.

If an Optuna release renames one of them, these fail by name, before any search does.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import BaseStorage

from storage.internals import storage_of, study_id, trial_id


def test_private_accessors_agree_with_the_public_api(tmp_path: Path) -> None:
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
    (summary,) = [s for s in optuna.get_all_study_summaries(url) if s.study_name == "second"]
    assert study_id(summary) == study_id(study), "FrozenStudy/StudySummary carry the same id"
