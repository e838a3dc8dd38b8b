"""Artifacts live beside a SQLite file, or where the caller says; round trip through Optuna."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.artifacts import download_artifact, upload_artifact

from storage import artifact_store, artifacts_dir_for, open_storage


def test_sqlite_artifacts_beside_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs' / 'nas.db'}"
    assert artifacts_dir_for(url) == tmp_path / "runs" / "nas.artifacts"
    assert artifacts_dir_for(url, tmp_path / "elsewhere") == tmp_path / "elsewhere"


def test_server_urls_need_a_directory() -> None:
    with pytest.raises(ValueError, match="pass --artifacts DIR"):
        artifacts_dir_for("postgresql://nas@db/nas")


def test_upload_and_download_a_checkpoint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    store = artifact_store(url)
    assert (tmp_path / "nas.artifacts").is_dir()
    study = optuna.create_study(storage=open_storage(url), directions=["maximize", "minimize"])
    trial = study.ask()
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"\x00weights\x01" * 100)
    artifact_id = upload_artifact(
        artifact_store=store, file_path=str(weights), study_or_trial=trial
    )
    copy = tmp_path / "copy.pt"
    download_artifact(artifact_store=store, artifact_id=artifact_id, file_path=str(copy))
    assert copy.read_bytes() == weights.read_bytes()


def test_artifact_dir_not_creatable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="artifacts: cannot create"):
        artifact_store(f"sqlite:///{tmp_path / 'nas.db'}", blocker / "sub")
