"""``open_storage(url)``: an Optuna ``RDBStorage`` for a validated URL.

Each supported database has one preparer in :data:`BACKENDS` that checks what can be checked
before Optuna touches the database (directory, driver, server) and returns the SQLAlchemy engine
keyword arguments for it. Anything that still goes wrong while Optuna creates or checks its
tables becomes one ``ValueError`` line, which the CLI prints with exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from storage.postgres import prepare_postgres
from storage.schema import opened_despite_racers
from storage.sqlite import prepare_sqlite
from storage.urls import EXAMPLES, default_storage_url, parse_url, redact, with_password

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

Preparer = Callable[[URL, bool, bool], dict[str, Any]]
"""``prepare(url, create, read_only)``: check what can be checked, return the engine kwargs."""

BACKENDS: dict[str, Preparer] = {
    "sqlite": prepare_sqlite,
    "postgresql": prepare_postgres,
}
"""SQLAlchemy backend name -> preparer returning ``RDBStorage(engine_kwargs=...)``."""


def open_storage(
    url: str | None = None,
    *,
    create: bool = True,
    read_only: bool = False,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
) -> RDBStorage:
    """The Optuna storage at ``url`` (default :func:`default_storage_url`), tables created.

    ``create=False`` is for readers (``nas pareto``, ``nas studies``): a SQLite file that does
    not exist yet is an error instead of a new empty database. ``read_only`` is for commands
    that never write (it implies ``create=False``): a SQLite file this process may not write,
    or in a folder it may not write, is opened read-only (:func:`storage.sqlite.read_only_uri`)
    where a writer gets the one-line error.

    ``heartbeat_interval``/``grace_period`` are passed to ``RDBStorage`` (the search's
    heartbeats, :mod:`nas.search.ownership`). A PostgreSQL storage is a
    :class:`~storage.patient.PatientStorage`: its calls wait out a short server restart.
    Any number of processes may open a new database at once (:mod:`storage.schema`).
    Raises ``ValueError`` (one line) for an unknown scheme, an unusable SQLite path, a missing
    driver or an unreachable server.
    """
    import optuna

    parsed = parse_url(url if url is not None else default_storage_url())
    shown = redact(parsed)
    parsed = with_password(parsed)
    backend = parsed.get_backend_name()
    prepare = BACKENDS.get(backend)
    if prepare is None:
        supported = ", ".join(BACKENDS)
        raise ValueError(
            f"storage {shown}: unsupported database {backend!r} (supported: {supported}); "
            f"use {EXAMPLES}"
        )
    engine_kwargs = prepare(parsed, create and not read_only, read_only)
    from storage.patient import PatientStorage  # imports Optuna's RDB module: only here

    kind = PatientStorage if backend == "postgresql" else optuna.storages.RDBStorage
    try:
        return opened_despite_racers(
            lambda: kind(
                parsed.render_as_string(hide_password=False),
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
            )
        )
    except (SQLAlchemyError, RuntimeError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ValueError(f"storage {shown}: {reason}") from None
