"""The private Optuna names this project relies on, read in this one module only.

Optuna has no public accessor for the storage a ``Study`` writes to (``Study._storage``), for
the ``RDBStorage`` inside the cache ``create_study`` wraps it in (``_CachedStorage._backend``),
for the storage id of a trial (``Trial._trial_id``, ``FrozenTrial._trial_id``) or of a study
(``FrozenStudy._study_id``), for the stale-heartbeat query (``_get_stale_trial_ids``), for the
key ``set_metric_names`` stores under, or for the type ``BaseStorage.get_all_studies`` returns
(``optuna.study._frozen.FrozenStudy``). The search needs them to write an epoch's accuracy to a
multi-objective trial (``Trial.report`` refuses those), to fail a trial whose sampler broke, to
view a study through another storage, and to read 10,000-trial studies by SQL.
``tests/storage/test_internals.py`` checks every name here against the installed Optuna, so a
release that renames one fails there, by name; ``tests/storage/test_layering.py`` fails if any
other module of ours touches one.
"""

from __future__ import annotations

from typing import Any

from optuna.storages import BaseStorage, RDBStorage
from optuna.study._frozen import FrozenStudy

__all__ = [
    "METRIC_NAMES_KEY",
    "STALE_TRIAL_IDS",
    "FrozenStudy",
    "rdb_storage",
    "stale_trial_ids",
    "storage_of",
    "storage_url",
    "study_id",
    "trial_id",
]

METRIC_NAMES_KEY = "study:metric_names"
"""The study system attribute ``Study.set_metric_names`` writes (a JSON list of names), read by
SQL in :mod:`storage.queries` without building the ``Study``."""

STALE_TRIAL_IDS = "_get_stale_trial_ids"
"""The name of ``RDBStorage``'s stale-heartbeat query, which :mod:`storage.patient` retries."""


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
    return [int(i) for i in getattr(storage, STALE_TRIAL_IDS)(study_id)]


def rdb_storage(storage: BaseStorage) -> RDBStorage | None:
    """The ``RDBStorage`` that ``storage`` is or wraps (``create_study`` and ``load_study`` wrap
    a URL's in ``_CachedStorage``, its ``_backend``); None for any other storage."""
    for candidate in (storage, getattr(storage, "_backend", None)):
        if isinstance(candidate, RDBStorage):
            return candidate
    return None


def storage_url(study: Any) -> str:
    """The database URL of the ``RDBStorage`` behind an ``optuna.Study`` (``RDBStorage.url`` is
    public; reaching the storage is not)."""
    storage = storage_of(study)
    rdb = rdb_storage(storage)
    assert rdb is not None, f"{type(storage).__name__} is not an RDBStorage"
    return rdb.url
