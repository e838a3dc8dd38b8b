"""``nas dashboard`` as a real process on a real SQLite study (:mod:`tests.nas.dashboard`)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from nas.cli import main
from tests.nas.dashboard import POINTS, STUDY, free_port, get, serving, write_study


def test_serves_the_study_and_prints_its_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study_id = write_study(url)
    with serving(url, tmp_path) as base:
        studies = json.loads(get(f"{base}/api/studies"))["study_summaries"]
        assert [s["study_name"] for s in studies] == [STUDY]
        detail = json.loads(get(f"{base}/api/studies/{study_id}"))
        assert detail["objective_names"] == ["val_accuracy", "macs"]
        assert len(detail["trials"]) == len(POINTS)
        assert len(detail["best_trials"]) == 3  # the Pareto front: trial 2 is dominated
        assert all(len(t["intermediate_values"]) == 3 for t in detail["trials"])


def test_host_and_artifacts_flags(tmp_path: Path) -> None:
    """``--host`` is the only address it listens on (127.0.0.2 is this machine too, but not
    127.0.0.1), and ``--artifacts`` is the folder its downloads come from, not the default
    beside the SQLite file."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study_id = write_study(url)
    folder, weights = tmp_path / "shared-artifacts", tmp_path / "model.pt"
    folder.mkdir()
    weights.write_bytes(b"proxy weights")
    study = optuna.load_study(study_name=STUDY, storage=url)
    store = FileSystemArtifactStore(str(folder))
    artifact = upload_artifact(artifact_store=store, file_path=str(weights), study_or_trial=study)
    with serving(url, tmp_path, host="127.0.0.2", flags=["--artifacts", str(folder)]) as base:
        assert base.startswith("http://127.0.0.2:")
        assert get(f"{base}/artifacts/{study_id}/{artifact}") == b"proxy weights"
        with pytest.raises(OSError):
            get(base.replace("127.0.0.2", "127.0.0.1") + "/api/studies", timeout=2)


def test_port_in_use_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    write_study(url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--storage", url, "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is in use; pass --port N" in capsys.readouterr().err


def test_bad_storage_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--storage", "mysql://nowhere/db"]) == 2
    assert "storage" in capsys.readouterr().err


def test_default_storage_follows_nas_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    write_study(url)
    monkeypatch.setenv("NAS_STORAGE", url)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nas", "dashboard", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "elsewhere.db" in first and f":{port}/dashboard/" in first
    finally:
        process.terminate()
        process.wait(timeout=10)
