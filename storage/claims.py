"""A study attribute that exactly one process sets: a compare-and-set through a unique row.

Optuna's ``set_study_user_attr`` is last-writer-wins (it reads the row, then inserts or
updates it, and ignores the unique-key error of an insert that lost a race), so two drivers
that check an attribute and then set it both see it unset and both act. Optuna's
``study_user_attributes`` table is unique on ``(study_id, key)``; a plain ``INSERT`` there
succeeds for exactly one process and fails with an ``IntegrityError`` for every other, on
SQLite and on PostgreSQL alike, which is the compare-and-set the storage API lacks. The row is
an ordinary user attribute afterwards (``study.user_attrs[key]``).
"""

from __future__ import annotations

import json
from typing import Any

from optuna.storages import BaseStorage
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import internals

__all__ = ["claim_study_attr"]


def claim_study_attr(storage: BaseStorage, study_id: int, key: str, value: Any) -> bool:
    """Set the study user attribute ``key`` to ``value`` unless it exists; ``True`` for the
    one caller that set it, ``False`` for every other (at once or later).

    Any storage other than an ``RDBStorage`` (in-memory, journal) is checked and set through
    the public API: atomic only within one process, which is all those storages serve here.
    """
    rdb = internals.rdb_storage(storage)
    if rdb is None:
        if key in storage.get_study_user_attrs(study_id):
            return False
        storage.set_study_user_attr(study_id, key, value)
        return True
    statement = text(
        "INSERT INTO study_user_attributes (study_id, key, value_json) "
        "VALUES (:study_id, :key, :value_json)"
    )
    try:
        with rdb.engine.begin() as connection:
            connection.execute(
                statement, {"study_id": study_id, "key": key, "value_json": json.dumps(value)}
            )
    except IntegrityError:
        return False
    return True
