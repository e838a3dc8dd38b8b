"""``nas submit`` on PostgreSQL: the job runs, and Ray never holds the storage password.

Ray keeps a job's ``runtime_env`` and shows it (``ray job list``, the dashboard); the job is
sent the URL with ``${NAS_STORAGE_PASSWORD}`` and reads that variable where the head started
(the head of :mod:`tests.nas.job_head` exports it, as docs/cluster.md says to).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from nas.cli import main
from nas.jobs.server import JobServer
from tests.nas.job_head import IGNORE_SSL_NONE, head, tiny_config

pytestmark = IGNORE_SSL_NONE

__all__ = ["head"]  # a fixture: a real head with token auth on, started for this module


@pytest.mark.postgres
@pytest.mark.slow
def test_a_job_on_postgres_is_sent_no_password(
    head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    given = os.environ.get("NAS_TEST_POSTGRES_URL")
    if not given:
        pytest.skip(os.environ.get("NAS_TEST_POSTGRES_SKIP_REASON", "NAS_TEST_POSTGRES_URL unset"))
    password = make_url(given).password
    monkeypatch.delenv("NAS_STORAGE_PASSWORD", raising=False)  # the job's comes from the head
    study = f"submitted-{os.getpid()}"
    argv = ["submit", str(tiny_config(tmp_path)), "--address", head, "--storage", given]
    argv += ["--study", study, "--artifacts", str(tmp_path / "artifacts"), "--no-confirm"]
    assert main([*argv, "--wait"]) == 0, capsys.readouterr()
    out, err = capsys.readouterr()
    job = out.splitlines()[0]
    assert "reads the storage password from $NAS_STORAGE_PASSWORD on the cluster" in err, err
    finished = optuna.load_study(study_name=study, storage=given)
    assert len(finished.get_trials(states=(TrialState.COMPLETE,))) == 2
    info = JobServer(head).info(job)
    kept = json.dumps({"runtime_env": info.runtime_env, "entrypoint": info.entrypoint})
    assert "${NAS_STORAGE_PASSWORD}" in kept
    assert f":{password}@" not in kept and f"password={password}" not in kept
