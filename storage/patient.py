"""``PatientStorage``: an Optuna ``RDBStorage`` whose calls outlast a short database outage.

A PostgreSQL restart breaks the connections in use: a call that was inside a transaction then
fails (Optuna raises ``StorageInternalError`` from SQLAlchemy's ``OperationalError``), and one
made while the server is down fails to connect. Each public storage method here retries, once a
second for up to :data:`~storage.postgres.RECONNECT_S`, when the failure is a lost or refused
connection; any other error is raised at once. A failed call was rolled back, so repeating it
repeats nothing that was stored (a commit whose reply alone was lost is the one case left).
New connections wait for the server themselves (:func:`storage.postgres.connect_patiently`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy.exc
from optuna.storages import BaseStorage, RDBStorage

from storage.internals import STALE_TRIAL_IDS
from storage.postgres import RECONNECT_S


class PatientStorage(RDBStorage):
    """``RDBStorage`` retrying a call whose connection was lost (module docstring)."""


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` or an exception it was raised from is a lost or refused connection."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sqlalchemy.exc.OperationalError):
            return True
        if type(seen).__name__ == "OperationalError":  # the driver's own (psycopg)
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _patient(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: RDBStorage, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + RECONNECT_S
        while True:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                if not lost_connection(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)

    return call


RETRIED = tuple(
    name
    for name in sorted({*vars(BaseStorage), "record_heartbeat", STALE_TRIAL_IDS})
    if (not name.startswith("_") or name == STALE_TRIAL_IDS)
    and callable(getattr(RDBStorage, name, None))
    and not isinstance(vars(BaseStorage).get(name), staticmethod | classmethod | property)
)
"""The storage methods that retry: every public one of ``BaseStorage``, and the heartbeat's."""

for _name in RETRIED:
    setattr(PatientStorage, _name, _patient(getattr(RDBStorage, _name)))
