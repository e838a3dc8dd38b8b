"""Storage URLs: defaults, normalisation, and the one-line errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import default_storage_url, normalize_url, redact
from storage.urls import sqlite_path


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


def test_redact_hides_password() -> None:
    assert redact("postgresql+psycopg://nas:secret@h/db") == "postgresql+psycopg://nas:***@h/db"


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
