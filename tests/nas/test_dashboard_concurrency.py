"""The dashboard reading a SQLite study while another process writes trials into it.

A search must never fail because someone opened the dashboard, and the dashboard must keep
answering while the search commits: the writer process adds trials the way the search does
(ask, per-epoch intermediate values through the storage, user attributes, tell) while this
process polls the dashboard's study endpoint as fast as it answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.nas.dashboard import get, serving, write_study

pytestmark = pytest.mark.slow

TRIALS = 60

WRITER = r"""
import sys, optuna
from storage import open_storage
from storage.internals import trial_id
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = open_storage(sys.argv[1])
study = optuna.load_study(study_name="tiny-front", storage=storage)
for i in range(int(sys.argv[2])):
    trial = study.ask()
    trial.set_user_attr("spec", {"backbone": "resnet20"})
    for epoch in (1, 2, 3):
        storage.set_trial_intermediate_value(trial_id(trial), epoch, 0.5 + epoch * 0.1)
    study.tell(trial, [0.5 + (i % 10) / 25, 1e6 * (1 + i % 7)])
print("wrote", int(sys.argv[2]))
"""


def test_reading_while_a_search_writes_fails_neither_side(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study_id = write_study(url)
    initial = 4
    with serving(url, tmp_path) as base:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(TRIALS)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[int] = []
        deadline = time.monotonic() + 240
        while writer.poll() is None and time.monotonic() < deadline:
            detail = json.loads(get(f"{base}/api/studies/{study_id}?after=0"))
            seen.append(len(detail["trials"]))
            json.loads(get(f"{base}/api/studies"))
        out, err = writer.communicate(timeout=60)
        # optuna-dashboard caches a study's trials for 2 s (below 100 trials): it catches up.
        deadline = time.monotonic() + 20
        while True:
            final = json.loads(get(f"{base}/api/studies/{study_id}?after=0"))
            if len(final["trials"]) == initial + TRIALS or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert writer.returncode == 0, err[-2000:]
    assert out.strip() == f"wrote {TRIALS}"
    assert "locked" not in err
    assert len(seen) >= 3, "the dashboard was not read while the writer ran"
    assert seen == sorted(seen), "the dashboard saw trials disappear"
    assert len(final["trials"]) == initial + TRIALS
    assert all(len(t["intermediate_values"]) == 3 for t in final["trials"])
