"""Where trial artifacts (proxy checkpoints) live: Optuna's ``FileSystemArtifactStore``.

For a SQLite file ``X.db`` the directory is ``X.artifacts/`` beside it, so copying the two moves
a whole study. Other storages (PostgreSQL) have no natural place, so the caller names one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.urls import redact, sqlite_path

if TYPE_CHECKING:
    from optuna.artifacts import FileSystemArtifactStore


def artifacts_dir_for(url: str, artifacts_dir: str | Path | None = None) -> Path:
    """The artifact directory for storage ``url``: ``artifacts_dir`` or ``X.artifacts``."""
    if artifacts_dir is not None:
        return Path(artifacts_dir).expanduser().resolve()
    database = sqlite_path(url)
    if database is None:
        raise ValueError(
            f"storage {redact(url)} is not a SQLite file, so artifacts have no default place; "
            "pass --artifacts DIR (a directory every worker can reach)"
        )
    return database.with_suffix(".artifacts")


def artifact_store(url: str, artifacts_dir: str | Path | None = None) -> FileSystemArtifactStore:
    """A ``FileSystemArtifactStore`` for storage ``url``; its directory is created."""
    from optuna.artifacts import FileSystemArtifactStore

    directory = artifacts_dir_for(url, artifacts_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"artifacts: cannot create {directory} ({exc.strerror}); "
            "pass a writable --artifacts DIR"
        ) from None
    return FileSystemArtifactStore(str(directory))
