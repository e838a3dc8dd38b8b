"""Storage URLs: defaults, normalisation and one-line validation errors.

A storage is named by a SQLAlchemy URL (https://docs.sqlalchemy.org/en/20/core/engines.html):
``sqlite:////abs/path/nas.db`` for a file, ``postgresql+psycopg://user:pw@host:5432/db`` for a
server. A bare path ending in ``.db``/``.sqlite``/``.sqlite3`` is read as a SQLite file. SQLite
paths are made absolute, because Ray Tune runs trials in their own working directories and a
relative URL would open a different file there.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_VAR = "NAS_STORAGE"
"""Environment variable that overrides :func:`default_storage_url`."""

DEFAULT_PATH = Path("nas-results") / "nas.db"
"""The default SQLite file, relative to the current directory."""

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
EXAMPLES = "sqlite:///nas-results/nas.db or postgresql+psycopg://user:password@host:5432/db"

_POSTGRES_ALIASES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def default_storage_url() -> str:
    """``$NAS_STORAGE`` if set, else the SQLite file ``nas-results/nas.db`` under the cwd."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return normalize_url(override)
    return f"sqlite:///{(Path.cwd() / DEFAULT_PATH).resolve()}"


def resolve_url(given: str | None) -> str:
    """The storage a command was given, normalised: ``None`` (no flag) is the default; an empty
    or blank string is an error, never a silent fall-back to the default."""
    if given is None:
        return default_storage_url()
    if not given.strip():
        raise ValueError(f"--storage is empty; omit it for the default or use {EXAMPLES}")
    return normalize_url(given)


def redact(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def parse_url(url: str) -> URL:
    """``url`` normalised and parsed; ``ValueError`` with one actionable line if it is not one."""
    text = url.strip()
    if not text:
        raise ValueError(f"storage URL is empty; use {EXAMPLES}")
    if "://" not in text and text.lower().endswith(SQLITE_SUFFIXES):
        text = f"sqlite:///{text}"
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise ValueError(f"storage URL {text!r} is not a URL; use {EXAMPLES}") from None
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername=_POSTGRES_ALIASES[parsed.drivername])
    if parsed.get_backend_name() == "sqlite":
        parsed = _absolute_sqlite(parsed)
    return parsed


def normalize_url(url: str) -> str:
    """The canonical string form of ``url`` (absolute SQLite path, psycopg driver)."""
    return parse_url(url).render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, ``None`` for any other backend."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    assert parsed.database is not None
    return Path(parsed.database)


def _absolute_sqlite(parsed: URL) -> URL:
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ValueError(
            f"storage URL {parsed.drivername}:///{database}: an in-memory SQLite database is "
            f"private to one process; give a file, e.g. sqlite:///{DEFAULT_PATH}"
        )
    return parsed.set(database=str(Path(database).expanduser().resolve()))
