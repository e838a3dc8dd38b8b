"""The private Optuna attributes this project relies on, read in this one module only.

Optuna has no public accessor for the storage a ``Study`` writes to (``Study._storage``), for
the storage id of a trial (``Trial._trial_id``, ``FrozenTrial._trial_id``) or of a study
(``FrozenStudy._study_id``); the search needs them to write an epoch's accuracy to a
multi-objective trial (``Trial.report`` refuses those), to fail a trial whose sampler broke,
and to view a study through another storage. ``tests/storage/test_internals.py`` checks each
against the installed Optuna, so a release that renames one fails there, by name.
"""

from __future__ import annotations

from typing import Any

from optuna.storages import BaseStorage


def storage_of(study: Any) -> BaseStorage:
    """The storage behind an ``optuna.Study``."""
    storage = study._storage
    assert isinstance(storage, BaseStorage), f"{type(study).__name__}._storage is not a storage"
    return storage


def trial_id(trial: Any) -> int:
    """The storage id of an ``optuna.Trial`` or ``FrozenTrial`` (not its per-study number)."""
    return int(trial._trial_id)


def study_id(study: Any) -> int:
    """The storage id of an ``optuna.Study`` or ``FrozenStudy``."""
    return int(study._study_id)
