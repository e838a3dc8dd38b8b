"""PostgreSQL servers, for searches whose workers run on several machines.

The driver is psycopg 3 (``postgresql+psycopg://``), installed by the optional extra
``pip install 'attention-nas[postgres]'``. The server is contacted once before Optuna builds its
tables, so a wrong host, port, password or database name is one line instead of a traceback.

After that check the server may go away for a while (restarted, failed over): with psycopg,
every new connection is made by :func:`connect_patiently`, which retries for up to
:data:`RECONNECT_S`, and ``pool_pre_ping`` replaces a pooled connection the restart closed. So a
storage call during a short outage waits for the server instead of failing the search.
"""

from __future__ import annotations

import functools
import importlib
import time
from typing import Any

import sqlalchemy
from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from storage.urls import redact

CONNECT_TIMEOUT_S = 5
"""Seconds to wait for the server when connecting."""
RECONNECT_S = 120.0
"""How long a new connection keeps trying a server that went away after the first check."""

INSTALL_HINT = "pip install 'attention-nas[postgres]'"

_DRIVER_MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000"}


def prepare_postgres(url: URL, create: bool = True, read_only: bool = False) -> dict[str, Any]:
    """Check the driver and that the server answers; return RDBStorage engine kwargs.

    ``create`` and ``read_only`` are unused: the database itself must exist either way (Optuna
    creates tables), and what a user may write is the server's to grant.
    """
    shown = redact(url)
    module = _DRIVER_MODULES.get(url.get_driver_name(), url.get_driver_name())
    try:
        importlib.import_module(module)
    except ImportError:
        raise ValueError(
            f"storage {shown}: the PostgreSQL driver {module!r} is not installed; {INSTALL_HINT}"
        ) from None
    engine_kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S},
    }
    try:
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
    except NoSuchModuleError:
        raise ValueError(
            f"storage {shown}: unknown PostgreSQL driver; "
            f"use postgresql+psycopg:// ({INSTALL_HINT})"
        ) from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = _first_line(exc)
        raise ValueError(
            f"storage {shown}: cannot connect to PostgreSQL ({reason}); "
            "check that the server runs and the host, port, user, password and database"
        ) from None
    finally:
        engine.dispose()
    if url.get_driver_name() == "psycopg":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        engine_kwargs["creator"] = functools.partial(connect_patiently, conninfo, RECONNECT_S)
    return engine_kwargs


def connect_patiently(conninfo: str, patience_s: float) -> Any:
    """A psycopg connection to ``conninfo``, retried once a second for up to ``patience_s``.

    A module-level function under ``functools.partial``, so the engine kwargs still pickle
    (``RDBStorage`` rebuilds its engine from them in other processes).
    """
    import psycopg

    deadline = time.monotonic() + patience_s
    while True:
        try:
            return psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
