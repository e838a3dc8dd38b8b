"""Storage URLs: defaults, normalisation, and the one-line errors for bad ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage import default_storage_url, normalize_url, open_storage, redact, storage_argument
from storage.urls import parse_url, shareable_url, sqlite_path, with_password


def test_default_is_sqlite_under_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_storage_url() == f"sqlite:///{tmp_path.resolve()}/nas-results/nas.db"


def test_env_overrides_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAS_STORAGE", "postgresql://nas:pw@db.example:5432/nas")
    assert default_storage_url() == "postgresql+psycopg://nas:pw@db.example:5432/nas"


def test_relative_sqlite_paths_become_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{tmp_path.resolve()}/runs/a.db"
    assert normalize_url("sqlite:///runs/a.db") == expected
    assert normalize_url("runs/a.db") == expected  # a bare file name is a SQLite file
    assert sqlite_path("runs/a.db") == tmp_path.resolve() / "runs" / "a.db"
    assert sqlite_path("postgresql://h/db") is None


SHOWN = "postgresql+psycopg://nas:${NAS_STORAGE_PASSWORD}@h:5432/db"


def test_redact_names_the_variable_instead_of_the_password() -> None:
    assert redact("postgresql+psycopg://nas:s3cr%40t@h:5432/db") == SHOWN
    assert redact("postgresql://nas@h/db") == "postgresql://nas@h/db", "no password, no change"
    assert redact("postgresql://nas:${MY_PW}@h/db") == "postgresql://nas:${MY_PW}@h/db"
    assert redact(normalize_url(SHOWN)) == SHOWN, "a reference survives normalisation"


def test_shown_url_pasted_back_reads_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NAS_STORAGE_PASSWORD", "s3cr@t")
    assert with_password(parse_url(SHOWN)).password == "s3cr@t"
    normalized = normalize_url(SHOWN)  # what a search pickles: the reference, not the secret
    assert "s3cr" not in normalized and with_password(parse_url(normalized)).password == "s3cr@t"
    monkeypatch.delenv("NAS_STORAGE_PASSWORD")
    with pytest.raises(ValueError, match=r"from \$NAS_STORAGE_PASSWORD, which is not set; export"):
        open_storage(SHOWN)


def test_storage_argument_is_a_secret_free_shell_word(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "postgresql+psycopg://nas:s3cret@h:5432/db"
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    assert storage_argument(secret) == f"'{SHOWN}'", "single quotes: the shell keeps ${...}"
    assert storage_argument(SHOWN) == f"'{SHOWN}'"
    monkeypatch.setenv("NAS_STORAGE", secret)
    assert storage_argument(secret) == '"$NAS_STORAGE"'
    assert storage_argument(redact(secret)) == '"$NAS_STORAGE"', "also from its shown form"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "storage URL is empty; use sqlite:///"),
        ("results", "storage URL 'results' is not a URL; use sqlite:///"),
        ("sqlite:///:memory:", "in-memory SQLite database is private to one process"),
        ("sqlite://", "in-memory SQLite database is private to one process"),
    ],
)
def test_bad_urls_are_one_line(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        normalize_url(url)
    assert "\n" not in str(info.value)


def test_shareable_url_moves_a_literal_password_into_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What Ray pickles or a job's environment shows holds the variable's name, not the secret;
    the processes this one starts read the password from it (ValueError when it differs)."""
    monkeypatch.delenv("NAS_STORAGE_PASSWORD", raising=False)  # tests/conftest.py restores it
    secret = "postgresql+psycopg://nas:hunter2@h:5432/db"
    shared = shareable_url(secret)
    assert shared == SHOWN and "hunter2" not in shared
    assert os.environ["NAS_STORAGE_PASSWORD"] == "hunter2"
    assert with_password(make_url(shared)).password == "hunter2"
    assert shareable_url(shared) == SHOWN, "a reference is kept as it is"
    assert shareable_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
    monkeypatch.setenv("NAS_STORAGE_PASSWORD", "other")
    with pytest.raises(ValueError, match=r"password differs from \$NAS_STORAGE_PASSWORD"):
        shareable_url(secret)
