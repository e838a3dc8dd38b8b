"""Optuna's tables on a new database that several processes open in the same second.

``RDBStorage(url)`` creates its tables when they are missing: SQLAlchemy's ``create_all``
checks which tables exist, then creates the others, and Optuna then stamps its schema version
(``version_info``, alembic's ``alembic_version``). Two processes doing that at once (two
drivers started together, a driver and its first workers) both see a table missing and both
create it; the slower one fails: on PostgreSQL with ``duplicate key value violates unique
constraint "pg_type_typname_nsp_index"`` (or ``relation ... already exists``), on SQLite with
``table ... already exists``, and on either with a duplicate key in ``alembic_version``.

Such a failure means another process has just created what this one was about to, so the
cure is to open the storage again: the second attempt finds those tables and creates only what
is still missing. :func:`opened_despite_racers` does that until the tables are complete, for a
bounded time; any other error is raised at once. The schema is thus created once, by whichever
process gets each table first, and no process fails for having started at the same time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

T = TypeVar("T")

RACE_WINDOW_S = 60.0
"""How long to keep re-opening a storage whose tables other processes are still creating."""


def lost_creation_race(exc: SQLAlchemyError) -> bool:
    """Whether ``exc``, raised while opening a storage, says another process created a table
    (or stamped the schema version) first."""
    if isinstance(exc, IntegrityError):  # pg_type/pg_class names, alembic_version's key
        return True
    return isinstance(exc, OperationalError | ProgrammingError) and "already exists" in str(exc)


def opened_despite_racers(open_once: Callable[[], T], window_s: float = RACE_WINDOW_S) -> T:
    """``open_once()``, repeated while it fails only because other processes are creating the
    same tables (:func:`lost_creation_race`), for up to ``window_s`` seconds."""
    deadline = time.monotonic() + window_s
    while True:
        try:
            return open_once()
        except SQLAlchemyError as exc:
            if not lost_creation_race(exc) or time.monotonic() >= deadline:
                raise
        # A random pause, so that racers which collided once do not collide again in step.
        time.sleep(random.uniform(0.05, 0.3))
