"""``open_storage``: SQLite set up for concurrent use, and one line for every bad URL."""

from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path

import optuna
import pytest
from sqlalchemy import text

from storage import open_storage
from storage.sqlite import BUSY_TIMEOUT_S


def _one_line_error(url: str) -> str:
    with pytest.raises(ValueError) as info:
        open_storage(url)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_sqlite_creates_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "nas.db"
    storage = open_storage(f"sqlite:///{path}")
    assert path.is_file()
    with sqlite3.connect(path) as connection:  # WAL is a property of the file: all clients get it
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with storage.engine.connect() as connection:
        timeout_ms = connection.execute(text("PRAGMA busy_timeout")).scalar()
    assert timeout_ms == int(BUSY_TIMEOUT_S * 1000)


def test_wal_switch_waits_for_a_writer_that_sqlite_would_not_wait_for(tmp_path: Path) -> None:
    """SQLite answers "database is locked" at once, busy timeout or not, when a writer holds the
    file while the journal mode changes (CI: 4 processes opening one new file). We wait."""
    path = tmp_path / "nas.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE held (n INTEGER)")
    writer_holds, release = threading.Event(), threading.Event()

    def write() -> None:
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO held VALUES (1)")
        writer_holds.set()
        release.wait(timeout=30)
        writer.execute("COMMIT")
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    assert writer_holds.wait(timeout=30)
    with sqlite3.connect(path, timeout=BUSY_TIMEOUT_S) as plain, pytest.raises(sqlite3.Error):
        plain.execute("PRAGMA journal_mode=WAL")  # the failure our retry exists for
    threading.Timer(0.3, release.set).start()
    open_storage(f"sqlite:///{path}")
    thread.join(timeout=30)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT n FROM held").fetchall() == [(1,)]


def test_busy_timeout_survives_pickling(tmp_path: Path) -> None:
    """Ray and multiprocessing pickle storages; the copy must keep its busy timeout."""
    storage = pickle.loads(pickle.dumps(open_storage(f"sqlite:///{tmp_path / 'a.db'}")))
    with storage.engine.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_S * 1000


def test_open_is_idempotent_and_keeps_studies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    optuna.create_study(storage=open_storage(url), study_name="s", directions=["maximize"])
    assert [s.study_name for s in open_storage(url).get_all_studies()] == ["s"]


def test_unknown_scheme(tmp_path: Path) -> None:
    message = _one_line_error("mysql://nas@localhost/nas")
    assert "unsupported database 'mysql' (supported: sqlite, postgresql)" in message


def test_directory_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    message = _one_line_error(f"sqlite:///{blocker / 'sub' / 'nas.db'}")
    assert f"cannot create directory {blocker / 'sub'}" in message
    assert "choose a writable location with --storage or $NAS_STORAGE" in message


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello " * 1000)
    assert "is it a SQLite database?" in _one_line_error(f"sqlite:///{path}")


def test_postgres_missing_driver() -> None:
    message = _one_line_error("postgresql+pg8000://nas:secret@127.0.0.1:5432/nas")
    assert "driver 'pg8000' is not installed; pip install 'attention-nas[postgres]'" in message
    assert "secret" not in message


def test_postgres_unreachable_server() -> None:
    """Port 1 on the loopback refuses at once: no server needed to test the message."""
    message = _one_line_error("postgresql://nas:secret@127.0.0.1:1/nas")
    assert message.startswith(
        "storage postgresql+psycopg://nas:${NAS_STORAGE_PASSWORD}@127.0.0.1:1/nas: "
    )
    assert "cannot connect to PostgreSQL" in message
    assert "secret" not in message


def test_contract_backends_open(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    study = optuna.create_study(storage=storage, study_name=study_name, directions=["minimize"])
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    again = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    assert len(again.trials) == 3


def test_readers_do_not_create_databases(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "nas.db"
    message = _one_line_error_create_false(f"sqlite:///{path}")
    assert f"storage {path} does not exist; run `nas search` first" in message
    assert not path.parent.exists()


def _one_line_error_create_false(url: str) -> str:
    with pytest.raises(ValueError) as info:
        open_storage(url, create=False)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_directory_is_named_as_one_with_the_file_to_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--storage sqlite:///DIR`` or ``--storage DIR`` is not "does not exist": it says what it
    is and which file to give (a SQLite file already there, else ``nas.db``)."""
    empty = "is a directory, not a database file; give a file in it, e.g. --storage"
    assert f"storage {tmp_path} {empty} {tmp_path / 'nas.db'} " in _one_line_error(
        f"sqlite:///{tmp_path}"
    )
    assert f"storage {tmp_path} {empty}" in _one_line_error_create_false(f"sqlite:///{tmp_path}")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "b.sqlite").touch()
    (runs / "notes.txt").touch()
    monkeypatch.chdir(tmp_path)
    from nas.cli import main

    for given in ("runs", str(runs), "sqlite:///runs"):
        assert main(["studies", "--storage", given]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert f"storage {runs} {empty} {runs / 'b.sqlite'} (or set $NAS_STORAGE" in line, line
