"""PostgreSQL servers, for searches whose workers run on several machines.

The driver is psycopg 3 (``postgresql+psycopg://``), installed by the optional extra
``pip install 'attention-nas[postgres]'``. The server is contacted once before Optuna builds its
tables, so a wrong host, port, password or database name is one line instead of a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy
from sqlalchemy.engine import URL
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

CONNECT_TIMEOUT_S = 5
"""Seconds to wait for the server when connecting."""

INSTALL_HINT = "pip install 'attention-nas[postgres]'"

_DRIVER_MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000"}


def prepare_postgres(url: URL, create: bool = True) -> dict[str, Any]:
    """Check the driver and that the server answers; return RDBStorage engine kwargs.

    ``create`` is unused: the database itself must exist either way (Optuna creates tables).
    """
    shown = url.render_as_string(hide_password=True)
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
    return engine_kwargs


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
