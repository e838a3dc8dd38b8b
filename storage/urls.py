"""Storage URLs: defaults, normalisation and one-line validation errors.

A storage is named by a SQLAlchemy URL (https://docs.sqlalchemy.org/en/20/core/engines.html):
``sqlite:////abs/path/nas.db`` for a file, ``postgresql+psycopg://user:pw@host:5432/db`` for a
server. A bare path ending in ``.db``/``.sqlite``/``.sqlite3`` is read as a SQLite file. SQLite
paths are made absolute, because Ray Tune runs trials in their own working directories and a
relative URL would open a different file there.

A password is never shown or written: :func:`redact` puts ``${NAS_STORAGE_PASSWORD}`` in its
place, and a URL whose password is written ``${NAME}`` reads it from the environment variable
``NAME`` when the storage is opened (:func:`with_password`), so what is shown can be pasted back.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_VAR = "NAS_STORAGE"
"""Environment variable that overrides :func:`default_storage_url`."""

PASSWORD_ENV = "NAS_STORAGE_PASSWORD"
"""The environment variable a shown URL names in place of its password."""

_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SENTINEL = "NASPASSWORDSENTINEL"

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


def redact(url: str | URL) -> str:
    """``url`` as it may be shown, logged or written: a password becomes a reference to the
    environment (``${NAS_STORAGE_PASSWORD}``, or the ``${NAME}`` the URL already names), so the
    text works when pasted back with that variable set, and never carries the secret."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return str(url)
    if parsed.password is None:
        return parsed.render_as_string(hide_password=False)
    given = str(parsed.password)
    reference = given if _REFERENCE.match(given) else "${" + PASSWORD_ENV + "}"
    text = parsed.set(password=_SENTINEL).render_as_string(hide_password=False)
    return text.replace(f":{_SENTINEL}@", f":{reference}@", 1)


def storage_argument(url: str) -> str:
    """The shell word that gives ``url`` back to ``--storage``, secret-free: ``"$NAS_STORAGE"``
    when that variable names this storage, else the quoted :func:`redact` form (single quotes,
    so the shell passes ``${NAS_STORAGE_PASSWORD}`` through and the storage reads it)."""
    override = os.environ.get(ENV_VAR, "").strip()
    try:
        if override and redact(normalize_url(override)) == redact(normalize_url(url)):
            return f'"${ENV_VAR}"'
    except ValueError:
        pass
    return shlex.quote(redact(url))


def shareable_url(url: str) -> str:
    """``url`` as it may be handed to other processes (Ray pickles it into Tune's experiment
    state, a job's environment shows it): :func:`redact`'s form, the password a reference.

    A literal password is moved into this process's environment as ``$NAS_STORAGE_PASSWORD``,
    which the processes it starts afterwards (a local Ray) inherit; processes elsewhere need it
    set there. ``ValueError`` when that variable already holds another password.
    """
    parsed = make_url(url)
    given = parsed.password
    if not holds_password(url):
        return redact(parsed)
    held = os.environ.get(PASSWORD_ENV)
    if held is not None and held != str(given):
        raise ValueError(
            f"storage {redact(parsed)}: its password differs from ${PASSWORD_ENV}; write the "
            f"URL's password as ${{{PASSWORD_ENV}}}, or unset {PASSWORD_ENV}"
        )
    os.environ[PASSWORD_ENV] = str(given)
    return redact(parsed)


def holds_password(url: str | URL) -> bool:
    """Whether ``url`` carries a password itself, rather than a ``${NAME}`` reference to one."""
    try:
        password = make_url(url).password
    except ArgumentError:
        return False
    return password is not None and _REFERENCE.match(str(password)) is None


def password_variable(url: str | URL) -> str | None:
    """The environment variable the shown form of ``url`` reads its password from, if any."""
    shown = make_url(redact(url)).password
    match = _REFERENCE.match(str(shown or ""))
    return match.group(1) if match else None


def with_password(parsed: URL) -> URL:
    """``parsed`` with a ``${NAME}`` password read from the environment, for connecting only;
    ``ValueError`` naming the variable when it is not set."""
    match = _REFERENCE.match(str(parsed.password or ""))
    if match is None:
        return parsed
    value = os.environ.get(match.group(1))
    if value is None:
        raise ValueError(
            f"storage {redact(parsed)}: its password comes from ${match.group(1)}, which is not "
            f"set; export {match.group(1)}=<the database password> and run again"
        )
    return parsed.set(password=value)


def parse_url(url: str) -> URL:
    """``url`` normalised and parsed; ``ValueError`` with one actionable line if it is not one."""
    text = url.strip()
    if not text:
        raise ValueError(f"storage URL is empty; use {EXAMPLES}")
    if "://" not in text and Path(text).expanduser().is_dir():
        raise directory_given(Path(text).expanduser().resolve())
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


def shown_url(url: str) -> str:
    """``SQLite file /abs/nas.db``, or the URL :func:`redact` makes shareable: where a study
    is, as ``nas search`` says it."""
    path = sqlite_path(url)
    return f"SQLite file {path}" if path is not None else redact(url)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, ``None`` for any other backend."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    assert parsed.database is not None
    return Path(parsed.database)


def directory_given(path: Path) -> ValueError:
    """The one-line error for a storage that names a directory: which file to give instead
    (a SQLite file already in it, else ``nas.db`` there)."""
    try:
        found = sorted(p.name for p in path.iterdir() if p.name.lower().endswith(SQLITE_SUFFIXES))
    except OSError:
        found = []
    example = path / (found[0] if found else DEFAULT_PATH.name)
    return ValueError(
        f"storage {path} is a directory, not a database file; give a file in it, e.g. "
        f"--storage {shlex.quote(str(example))} (or set ${ENV_VAR} to it)"
    )


def _absolute_sqlite(parsed: URL) -> URL:
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ValueError(
            f"storage URL {parsed.drivername}:///{database}: an in-memory SQLite database is "
            f"private to one process; give a file, e.g. sqlite:///{DEFAULT_PATH}"
        )
    return parsed.set(database=str(Path(database).expanduser().resolve()))
