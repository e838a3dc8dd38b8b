"""``nas calibrate`` end to end on tiny real data: the table, ``--show``, and a resume that
trains nothing (real Ray, real training, real SQLite)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nas.calibrate.record import calibration_name
from nas.cli import main
from tests.nas.calibrate.tiny import ARGS, RUNS, STUDY, tiny_config
from workers.signals import SIGNALS


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=calibration_name(STUDY), storage=url).get_trials()


def test_calibrate_prints_stores_shows_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = tiny_config(tmp_path)
    assert main(["calibrate", str(config), *ARGS]) == 0
    first = capsys.readouterr()
    assert f"0 runs stored, {RUNS} to train" in first.err
    assert sum("calibrate: " in line and "/12 " in line for line in first.err.splitlines()) == 12
    table = first.out
    assert "calibration: 3 specs x 2 seeds" in table
    assert "reference seed-to-seed: tau" in table and "noise ceiling" in table
    for name in SIGNALS.names():
        row = next(line for line in table.splitlines() if line.startswith(name + " "))
        assert row.count("[") == 3, row  # tau, rho and the proxy's seed-to-seed tau
    assert "cost per run: proxy" in table

    trials = _trials(url)
    assert len(trials) == RUNS
    assert {t.user_attrs["budget_name"] for t in trials} == {"proxy", "reference"}
    assert len({t.user_attrs["key"] for t in trials}) == RUNS
    assert all("signal/neg_sotl" in t.user_attrs["metrics"] for t in trials)

    assert main(["calibrate", str(config), "--show"]) == 0
    assert capsys.readouterr().out == table

    assert main(["calibrate", str(config), *ARGS]) == 0
    again = capsys.readouterr()
    assert f"{RUNS} runs stored, 0 to train" in again.err
    assert "calibrate: 1/" not in again.err
    assert again.out == table
    assert [t.datetime_complete for t in _trials(url)] == [t.datetime_complete for t in trials]


def test_show_without_a_calibration_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = tiny_config(tmp_path)
    assert main(["calibrate", str(config), "--show"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no calibration of study 'tiny'" in err


def test_too_few_specs_or_seeds_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = tiny_config(tmp_path)
    assert main(["calibrate", str(config), "--specs", "2"]) == 2
    assert "at least 3 specs" in capsys.readouterr().err
    assert main(["calibrate", str(config), "--seeds", "1"]) == 2
    assert "at least 2 seeds" in capsys.readouterr().err
