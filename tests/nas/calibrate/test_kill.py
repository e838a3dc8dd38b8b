"""A calibration SIGKILLed after its first runs are stored resumes without retraining them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from nas.calibrate.record import calibration_name
from tests.nas import faults
from tests.nas.calibrate.tiny import ARGS, RUNS, STUDY, tiny_config
from tests.nas.faults import REPO, Search, trials_of

scratch = faults.scratch  # the fixture: a short TMPDIR for Ray's socket paths


class Calibration(Search):
    """One ``nas calibrate`` subprocess in a session of its own (killed like a search)."""

    def __init__(self, config: Path, log: Path, scratch: Path) -> None:
        env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "nas", "calibrate", str(config), *ARGS]
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )


def _stored(url: str) -> list[optuna.trial.FrozenTrial]:
    """The calibration's runs so far, read as tests/nas/faults.py's ``trials_of`` reads a
    storage the process under test may still be creating."""
    return trials_of(url, calibration_name(STUDY))


@pytest.mark.slow
def test_a_killed_calibration_resumes_without_retraining(tmp_path: Path, scratch: Path) -> None:
    config, url = tiny_config(tmp_path)
    log = tmp_path / "calibrate.log"
    first = Calibration(config, log, scratch)
    deadline = time.monotonic() + 300
    while not _stored(url):
        assert first.process.poll() is None, first.tail()
        assert time.monotonic() < deadline, first.tail()
        time.sleep(0.2)
    first.sigkill()
    kept = {t.user_attrs["key"]: t.datetime_complete for t in _stored(url)}
    assert 1 <= len(kept) < RUNS, first.tail()

    second = Calibration(config, log, scratch)
    assert second.wait() == 0, second.tail()
    assert f"{len(kept)} runs stored, {RUNS - len(kept)} to train" in second.tail()
    trials = _stored(url)
    assert len(trials) == RUNS and len({t.user_attrs["key"] for t in trials}) == RUNS
    after = {t.user_attrs["key"]: t.datetime_complete for t in trials}
    assert {key: after[key] for key in kept} == kept
    assert "calibration: 3 specs x 2 seeds" in second.tail()
