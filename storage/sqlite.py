"""SQLite files shared by several processes: WAL journal and a busy timeout.

Optuna's own advice (FAQ "How can I solve the error that occurs when performing parallel
optimization with SQLite3?") is that SQLite serialises writers. Two settings make that safe for
a search (several Ray workers writing) while optuna-dashboard reads the same file:

- ``PRAGMA journal_mode=WAL`` (https://sqlite.org/wal.html): readers never block the writer and
  the writer never blocks readers. The mode is stored in the database file, so it is set once
  here and every later connection, including the dashboard's, gets it.
- a busy timeout on every connection (``sqlite3.connect(timeout=...)`` through SQLAlchemy's
  ``connect_args``): a writer that finds the write lock held waits for it instead of failing
  with "database is locked". Plain ``engine_kwargs`` survive pickling of ``RDBStorage``
  (event listeners would not), so storages sent to other processes keep the timeout.

WAL needs shared memory, so the file must live on a local disk, not NFS.

A command that only reads (``nas studies``, ``pareto``, ``export``, ``dashboard``) may be given a
copy it cannot write (a read-only folder, an archive). SQLite's WAL page ("Read-Only
Databases") says a WAL file opens read-only when its ``-wal`` and ``-shm`` files exist or can be
created, or when it is opened as immutable. So such a reader opens it with ``mode=ro`` when
those files can be made or are there, and with ``immutable=1`` when the folder is read-only and
holds no ``-wal``: then no process can write the file (any write needs a ``-wal`` or journal
file in that folder), and everything committed is in the file itself (:func:`read_only_uri`).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import URL

from storage.urls import ENV_VAR, directory_given

BUSY_TIMEOUT_S = 60.0
"""How long a connection waits for another process's write lock before giving up."""


def prepare_sqlite(url: URL, create: bool = True, read_only: bool = False) -> dict[str, Any]:
    """Create the file's directory, switch the file to WAL; return RDBStorage engine kwargs.

    With ``create=False`` a missing file is an error (readers should not make empty databases).
    With ``read_only`` (readers) a file this process may not write, or whose folder it may not
    write, is opened read-only instead of refused; a writable one is opened as for a writer.
    """
    assert url.database is not None, "parse_url makes SQLite paths absolute"
    path = Path(url.database)
    if path.is_dir():
        raise directory_given(path)
    if not create and not path.is_file():
        raise ValueError(
            f"storage {path} does not exist; run `nas search` first, or point --storage "
            f"(or ${ENV_VAR}) at an existing results file"
        )
    uri = read_only_uri(path) if read_only else None
    if uri is not None:
        connect = functools.partial(  # a partial pickles, as RDBStorage's engine_kwargs must
            sqlite3.connect, uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        return {"creator": connect}
    _ensure_directory(path)
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ValueError(
            f"storage {path}: not readable and writable by this user; fix its permissions "
            f"or choose another file with --storage or ${ENV_VAR}"
        )
    _enable_wal(path)
    return {"connect_args": {"timeout": BUSY_TIMEOUT_S}}


def read_only_uri(path: Path) -> str | None:
    """The SQLite URI filename that reads the existing file ``path`` without writing anything,
    or ``None`` when this process may write the file and its folder (open it as usual).

    ``ValueError`` when the file is not readable, or when its ``-wal`` holds commits but there
    is no ``-shm`` and the folder is read-only: SQLite can read those commits only by making a
    ``-shm`` there, and opening the file as immutable would silently leave them out.
    """
    directory = path.parent
    if not os.access(path, os.R_OK):
        raise ValueError(
            f"storage {path}: not readable by this user; fix its permissions or choose another "
            f"file with --storage or ${ENV_VAR}"
        )
    folder_writable = os.access(directory, os.W_OK | os.X_OK)
    if folder_writable and os.access(path, os.W_OK):
        return None
    name = f"file:{quote(str(path))}"
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    if folder_writable or (wal.exists() and shm.exists()):
        return f"{name}?mode=ro"
    if wal.exists() and wal.stat().st_size > 0:
        raise ValueError(
            f"storage {path}: {wal.name} holds commits not yet in the file, and SQLite reads "
            f"them only by creating {shm.name} in {directory}, which is read-only; open it once "
            "where its folder is writable (that folds them in), or copy the folder"
        )
    return f"{name}?immutable=1"


def _ensure_directory(path: Path) -> None:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise ValueError(
            f"storage {path}: cannot create directory {directory} ({reason}); "
            f"choose a writable location with --storage or ${ENV_VAR}"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(
            f"storage {path}: directory {directory} is not writable (SQLite keeps its -wal and "
            f"-shm files there); choose a writable location with --storage or ${ENV_VAR}"
        )


def _enable_wal(path: Path) -> None:
    """Switch ``path`` to WAL, retrying while another process holds the lock.

    Changing the journal mode needs an exclusive lock, and SQLite may answer "database is
    locked" at once, without its busy handler, when the racer holds a lock it would wait for
    (deadlock avoidance); processes opening a new file together hit this. So the retry is ours,
    within the same ``BUSY_TIMEOUT_S``. A file already in WAL mode is left alone.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            mode = _journal_mode(path)
            break
        except sqlite3.DatabaseError as exc:
            if "locked" not in str(exc):
                raise ValueError(f"storage {path}: {exc} (is it a SQLite database?)") from None
            if time.monotonic() > deadline:
                raise ValueError(
                    f"storage {path}: {exc} for {BUSY_TIMEOUT_S:.0f} s; stop the program "
                    f"holding it, or choose another file with --storage or ${ENV_VAR}"
                ) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    if mode.lower() != "wal":
        raise ValueError(
            f"storage {path}: SQLite refused WAL mode (got {mode!r}); put the file on a local disk"
        )


def _journal_mode(path: Path) -> str:
    """The file's journal mode after asking for WAL (unchanged when it is WAL already)."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
    finally:
        connection.close()
    return str(mode)
