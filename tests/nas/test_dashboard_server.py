"""``nas dashboard`` as a real process on a real SQLite study (:mod:`tests.nas.dashboard`)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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
