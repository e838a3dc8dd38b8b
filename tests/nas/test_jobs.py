"""``nas submit/jobs/logs/stop`` against a real local Ray head and its job server.

The head is ``ray start --head --block`` in a process group of its own, with its own ports and
temp dir (so no other test's ``ray.init()`` finds it), stopped by its pid at the end. The jobs
run the real ``python -m nas search`` on tiny IDX files and real SQLite. The checks that need
no head (config, storage and address refusals) run without one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.cli import main
from nas.jobs.server import JobServer, status_name
from nas.jobs.submission import Submission, on_this_machine
from tests.nas.dashboard import free_ports
from tests.nas.job_head import IGNORE_SSL_NONE, head, tiny_config

pytestmark = IGNORE_SSL_NONE

__all__ = ["head"]  # a fixture: a real head with token auth on, started for this module


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _wait_until_running(head: str, job: str) -> None:
    server, deadline = JobServer(head), time.monotonic() + 120
    while "nas search: study" not in server.logs(job):
        assert time.monotonic() < deadline, server.logs(job)
        assert status_name(server.info(job)) in ("PENDING", "RUNNING"), server.logs(job)
        time.sleep(0.5)


# --- no head needed: everything refused before a job server is asked -------------------------


def test_unreachable_address_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"http://127.0.0.1:{free_ports(1)[0]}"
    for argv in (
        ["jobs", "--address", address],
        ["logs", "raysubmit_x", "--address", address],
        ["stop", "raysubmit_x", "--address", address],
        ["submit", str(tiny_config(tmp_path)), "--address", address],
    ):
        assert main(argv) == 2, argv
        line = _one_line(capsys.readouterr().err)
        assert address in line and "ray start --head" in line, line
    assert main(["jobs", "--address", " "]) == 2
    assert "--address is empty" in _one_line(capsys.readouterr().err)


def test_bad_config_is_refused_before_the_job_server_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing there: never reached
    bad = tiny_config(tmp_path)
    bad.write_text(bad.read_text().replace('sampler = "random"', 'sampler = "randomm"'))
    assert main(["submit", str(bad), "--address", address]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "search.sampler" in line and address not in line, line
    assert main(["submit", str(tiny_config(tmp_path)), "--trials", "0", "--address", address]) == 2
    assert "search.trials" in _one_line(capsys.readouterr().err)
    relative = tiny_config(tmp_path, data="idx")
    assert main(["submit", str(relative), "--address", address]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "data.data_dir = 'idx' is relative" in line and address not in line, line
    assert main(["submit", str(tmp_path / "missing.toml"), "--address", address]) == 2
    assert address not in _one_line(capsys.readouterr().err)
    capsys.readouterr()


def test_sqlite_is_refused_for_a_job_server_on_another_machine(tmp_path: Path) -> None:
    config = str(tiny_config(tmp_path))
    overrides = {"storage": str(tmp_path / "nas.db")}
    submission = Submission.prepare(config, overrides, no_confirm=False, verbose=False)
    assert submission.storage_url == f"sqlite:///{tmp_path / 'nas.db'}"
    for here in ("127.0.0.1", "localhost", socket.gethostname()):
        assert on_this_machine(here), here
        submission.check_storage_reaches(f"http://{here}:8265")
    assert not on_this_machine("192.0.2.1")  # TEST-NET-1 (RFC 5737): nobody's address
    with pytest.raises(ValueError, match=r"only this machine has.*postgresql://"):
        submission.check_storage_reaches("http://192.0.2.1:8265")
    postgres = {"storage": "postgresql://nas:secret@db/nas", "artifacts": "shared/art"}
    remote = Submission.prepare(config, postgres, no_confirm=True, verbose=False)
    remote.check_storage_reaches("http://192.0.2.1:8265")
    (tmp_path / "empty").mkdir()
    request = remote.request(tmp_path / "empty")
    assert request["runtime_env"]["env_vars"]["NAS_STORAGE"] == (
        "postgresql+psycopg://nas:${NAS_STORAGE_PASSWORD}@db/nas"
    )
    assert "secret" not in str(request), "Ray keeps and shows a job's runtime_env"
    assert "$NAS_STORAGE_PASSWORD on the cluster" in str(remote.password_note)
    assert submission.password_note is None
    assert f"--artifacts {Path.cwd() / 'shared' / 'art'}" in request["entrypoint"]
    assert "--no-confirm" in request["entrypoint"]
    with pytest.raises(ValueError, match="pass --artifacts DIR"):
        Submission.prepare(
            config, {"storage": postgres["storage"]}, no_confirm=False, verbose=False
        )
    written = tmp_path / "written.toml"
    line = 'storage = "postgresql://nas:secret@db/nas"\n'
    written.write_text(Path(config).read_text().replace("[search]\n", f"[search]\n{line}", 1))
    with pytest.raises(ValueError, match=r"holds a password.*upload") as info:
        Submission.prepare(str(written), {"storage": "x.db"}, no_confirm=False, verbose=False)
    assert "secret" not in str(info.value) and "${NAS_STORAGE_PASSWORD}" in str(info.value)


def test_the_job_ships_the_config_file_and_names_the_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config(tmp_path)
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)  # the default storage is relative to where nas submit runs
    submission = Submission.prepare(
        str(config), {"trials": 3, "study": "s1"}, no_confirm=False, verbose=False
    )
    assert submission.storage_url == f"sqlite:///{tmp_path / 'nas-results' / 'nas.db'}"
    folder = tmp_path / "ship"
    folder.mkdir()
    request = submission.request(folder)
    assert [p.name for p in folder.iterdir()] == ["tiny.toml"]
    assert (folder / "tiny.toml").read_text() == config.read_text()
    assert request["runtime_env"]["working_dir"] == str(folder)
    assert request["entrypoint"] == (
        'python -m nas search tiny.toml --study s1 --trials 3 --storage "$NAS_STORAGE"'
    )
    assert request["metadata"]["nas_study"] == "s1"


# --- a real head -------------------------------------------------------------------------------


@pytest.mark.slow
def test_submit_wait_then_pareto_jobs_and_logs(
    head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = tiny_config(tmp_path), tmp_path / "nas.db"
    argv = ["submit", str(config), "--address", head, "--storage", str(db), "--study", "job"]
    assert main([*argv, "--wait"]) == 0, capsys.readouterr()
    out, err = capsys.readouterr()
    job = out.splitlines()[0]
    assert job.startswith("raysubmit_"), out
    assert "nas search: study 'job'" in out and "Pareto front" in out, out
    assert f"job {job} SUCCEEDED" in err

    study = optuna.load_study(study_name="job", storage=f"sqlite:///{db}")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 2, [t.user_attrs.get("fail_reason") for t in study.trials]
    assert main(["pareto", "--storage", str(db), "--study", "job"]) == 0
    front = capsys.readouterr().out
    assert "study 'job':" in front and "on the front of 2 COMPLETE" in front, front

    assert main(["jobs", "--address", head]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(job)]
    assert "SUCCEEDED" in row and " job " in row and "python -m nas search tiny.toml" in row
    assert main(["jobs", "--address", head, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (mine,) = [j for j in listed["jobs"] if j["submission_id"] == job]
    assert mine["status"] == "SUCCEEDED" and mine["metadata"]["nas_study"] == "job"
    assert mine["start_time"] <= mine["end_time"], "ISO-8601 UTC times sort as they happened"
    assert main(["logs", job, "--address", head]) == 0
    assert "nas search: study 'job'" in capsys.readouterr().out
    assert main(["logs", "raysubmit_nosuchjob", "--address", head]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "no job 'raysubmit_nosuchjob'" in line and head in line


@pytest.mark.slow
def test_a_token_the_head_does_not_know_is_one_line(head: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(tmp_path), RAY_AUTH_TOKEN="0" * 64)  # a fresh process, another token
    done = subprocess.run(
        [sys.executable, "-m", "nas", "jobs", "--address", head],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done
    line = _one_line(done.stderr)
    assert f"the job server at {head} refused this machine's Ray token" in line
    assert "RAY_AUTH_TOKEN=" in line and "docs/cluster.md" in line


@pytest.mark.slow
def test_stop_a_running_job(head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tiny_config(tmp_path, trials=40, epochs=30)
    argv = ["submit", str(config), "--address", head, "--storage", str(tmp_path / "s.db")]
    assert main(argv) == 0
    job = capsys.readouterr().out.strip()
    _wait_until_running(head, job)
    assert main(["stop", job, "--address", head]) == 0
    assert capsys.readouterr().out.strip() == f"job {job} STOPPED"
    assert main(["stop", job, "--address", head]) == 0
    assert "already ended: STOPPED" in capsys.readouterr().out
    assert main(["logs", job, "--follow", "--address", head]) == 1, "a stopped job exits 1"
    assert f"job {job} STOPPED" in capsys.readouterr().err


@pytest.mark.slow
def test_a_failing_search_fails_the_job(
    head: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tiny_config(tmp_path, data=str(tmp_path / "no-such-data"))
    argv = ["submit", str(config), "--address", head, "--storage", str(tmp_path / "f.db")]
    assert main([*argv, "--wait"]) == 1
    out, err = capsys.readouterr()
    assert "no-such-data" in out, "the search's own error is in the job's output"
    assert "FAILED" in err


def test_submit_takes_every_flag_of_nas_search() -> None:
    import argparse

    from nas.commands import search, submit

    def options(module: object) -> set[str]:
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)  # type: ignore[attr-defined]
        return {flag for action in parser._actions for flag in action.option_strings}

    missing = options(search) - options(submit) - {"--json"}
    assert not missing, f"nas submit lacks {sorted(missing)}: add them to add_search_flags"
    assert {f"--{name}" for name in search.search_keys()} <= options(submit)
