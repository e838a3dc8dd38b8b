"""No secret is written: the command an export records is relative and names no password.

A PostgreSQL URL carries its password; SQLite URLs carry none, so the recording is tested on a
PostgreSQL URL string, and end to end (search, export, ``--attach``, confirm, then every file
under the run and artifact folders, Tune's experiment state and the search's Ray session folder
grepped) when ``NAS_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path

import optuna
import pytest
from sqlalchemy.engine import make_url

from nas.cli import main
from nas.commands import export as export_command
from nas.export.command import recorded_command
from tests.nas.searches import small_search

SECRET_URL = "postgresql://nas:hunter2-s3cret@db.example:5432/nas"


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    export_command.add_arguments(parser)
    return parser.parse_args(argv)


def test_recorded_command_names_the_password_variable_not_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "models" / "knee.py"
    args = parsed("--storage", SECRET_URL, "--knee", "--attach", "-o", str(out))
    command = recorded_command(args)
    assert "hunter2" not in command and str(tmp_path) not in command
    assert command == (
        "nas export --storage "
        "'postgresql+psycopg://nas:${NAS_STORAGE_PASSWORD}@db.example:5432/nas' "
        "--study attention-nas --knee --attach -o models/knee.py"
    )
    monkeypatch.setenv("NAS_STORAGE", SECRET_URL)
    assert '--storage "$NAS_STORAGE"' in recorded_command(args)


def test_sqlite_and_spec_paths_are_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "runs" / "nas.db"
    args = parsed("--storage", f"sqlite:///{db}", "--trial", "3", "-o", str(tmp_path / "m.py"))
    assert (
        recorded_command(args)
        == "nas export --storage runs/nas.db --study attention-nas --trial 3 -o m.py"
    )
    spec = parsed("--spec", str(tmp_path / "a b.json"), "-o", "m.py")
    assert recorded_command(spec) == "nas export --spec 'a b.json' -o m.py"


@pytest.mark.parametrize(
    "choice",
    [["--trial", "3"], ["--knee"], ["--best"], ["--max-macs", "4e+07"], ["--min-accuracy", "0.9"]],
)
def test_recorded_command_makes_the_same_choice(
    choice: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded command, typed again, is a valid ``nas export`` of the same choice (docs/
    export.md: the file records the command that made it)."""
    monkeypatch.chdir(tmp_path)
    args = parsed("--storage", "runs/nas.db", *choice, "--weights", "-o", "m.py")
    again = parsed(*shlex.split(recorded_command(args))[2:])
    assert vars(again) == {**vars(args), "storage": "runs/nas.db"}


def test_spec_export_records_a_relative_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.json").write_text('{"backbone": "resnet20"}')
    assert (
        main(["export", "--spec", str(tmp_path / "spec.json"), "-o", str(tmp_path / "m.py")]) == 0
    )
    text = (tmp_path / "m.py").read_text()
    assert 'command: "nas export --spec spec.json -o m.py"' in text
    assert str(tmp_path) not in text


def _files_holding(folders: list[Path], secret: str) -> list[str]:
    hits = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                hits.append(str(path))
    return hits


@pytest.mark.postgres
@pytest.mark.slow
def test_no_file_of_search_export_attach_confirm_holds_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = os.environ.get("NAS_TEST_POSTGRES_URL")
    if not given:
        pytest.skip(os.environ.get("NAS_TEST_POSTGRES_SKIP_REASON", "NAS_TEST_POSTGRES_URL unset"))
    password = make_url(given).password
    assert password, "the test server's URL carries a password"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    monkeypatch.delenv(
        "NAS_STORAGE_PASSWORD", raising=False
    )  # the search sets it; conftest restores
    ray_tmp = Path(tempfile.mkdtemp(prefix="nas-ray-", dir="/tmp"))  # short: Ray's socket paths
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))  # this search's Ray session: logs, GCS files
    study, artifacts = f"secret-{os.getpid()}", tmp_path / "artifacts"
    config = small_search(tmp_path, study)
    tune = tmp_path / "tune"  # Tune's experiment state (the pickled searcher, scheduler, config)
    config.write_text(config.read_text() + f'[resources]\nstorage_path = "{tune}"\n')
    common = ["--storage", given, "--study", study]
    search = ["search", str(config), *common, "--artifacts", str(artifacts), "--trials", "3"]
    assert main([*search, "--no-confirm"]) == 0
    assert main(["confirm", *common]) == 0
    exported = ["export", *common, "--artifacts", str(artifacts), "--knee"]
    assert main([*exported, "--weights", "--attach", "-o", "model.py"]) == 0
    recorded = (tmp_path / "model.py").read_text()
    assert "${NAS_STORAGE_PASSWORD}" in recorded
    # The password may equal the user or database name (CI's nas_test): look for it as one.
    assert any(path.name.startswith("experiment_state") for path in tune.rglob("*"))
    kept = optuna.load_study(study_name=study, storage=given).user_attrs  # the dashboard shows them
    assert "${NAS_STORAGE_PASSWORD}" in kept["config"]["search"]["storage"]
    assert f":{password}@" not in json.dumps(kept)
    assert any(ray_tmp.glob("ray/session_*/logs/*")), "the search's Ray session is grepped"
    try:
        for needle in (f":{password}@", f"password={password}"):
            assert not _files_holding([tmp_path, artifacts, ray_tmp], needle), needle
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
