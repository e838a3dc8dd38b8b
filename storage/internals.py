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


def stale_trial_ids(storage: Any, study_id: int) -> list[int]:
    """Ids of the study's RUNNING trials whose last heartbeat is older than the storage's grace
    period (``RDBStorage(heartbeat_interval=..., grace_period=...)``); trials that never beat
    are not among them. Optuna reads this only inside ``fail_stale_trials``
    (``BaseHeartbeat._get_stale_trial_ids``), which fails the trials before any callback could
    name a reason; the search needs the ids first (:mod:`nas.search.ownership`)."""
    return [int(i) for i in storage._get_stale_trial_ids(study_id)]


def storage_url(study: Any) -> str:
    """The database URL of the ``RDBStorage`` behind an ``optuna.Study``: ``create_study`` and
    ``load_study`` wrap it in ``_CachedStorage`` (its ``_backend``); ``RDBStorage.url`` is
    public."""
    storage = storage_of(study)
    backend = getattr(storage, "_backend", storage)
    url = getattr(backend, "url", None)
    assert isinstance(url, str), f"{type(backend).__name__} is not an RDBStorage"
    return url
