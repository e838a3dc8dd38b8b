"""``nas calibrate`` end to end on tiny real data: the table, ``--show``, a resume that trains
nothing, and what ``nas search`` makes of the stored calibration (real Ray, real training, real
SQLite; the calibration is trained once for the module)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import optuna
import pytest

from nas.calibrate.fidelity import fidelity_note
from nas.calibrate.record import calibration_name, load_summary
from nas.cli import main
from nas.config import CalibrateSection, SearchConfig
from storage import open_storage
from tests.nas.calibrate.tiny import ARGS, RUNS, STUDY, tiny_config
from workers.signals import SIGNALS

PROXIES = ["--proxies", "two_epochs:epochs=2"]
"""One candidate proxy besides the config's: 6 runs more."""
ALL = RUNS + 6


@dataclass(frozen=True)
class Calibrated:
    config: Path
    url: str
    out: str
    err: str


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=calibration_name(STUDY), storage=url).get_trials()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Calibrated:
    config, url = tiny_config(tmp_path_factory.mktemp("calibrate"))
    status, out, err = _main("calibrate", str(config), *ARGS, *PROXIES)
    assert status == 0, err
    return Calibrated(config, url, out, err)


def test_calibrate_prints_the_table_with_intervals(calibrated: Calibrated) -> None:
    assert f"at 3 budgets: 0 runs stored, {ALL} to train" in calibrated.err
    progress = [line for line in calibrated.err.splitlines() if line.startswith("calibrate: ")]
    assert len(progress) == ALL and progress[-1].startswith(f"calibrate: {ALL}/{ALL} ")
    table = calibrated.out
    assert "calibration: 3 specs x 2 seeds" in table
    assert "reference seed-to-seed: tau" in table and "noise ceiling" in table
    rows = [line for line in table.splitlines() if line.startswith("  ")]
    for name in SIGNALS.names():
        mine = [row for row in rows if row.split()[0] == name]
        assert len(mine) == 2, name  # one row per proxy
        assert all(row.count("[") == 3 for row in mine), mine  # tau, rho, seed-to-seed tau
    assert "\nproxy: 1 x 200 images, cost per run" in table
    assert "\ntwo_epochs: 2 x 200 images, cost per run" in table
    assert "highest tau: " in table and '    signal = "' in table  # the snippet to paste


def test_every_run_is_one_stored_trial(calibrated: Calibrated) -> None:
    trials = _trials(calibrated.url)
    assert len(trials) == ALL and len({t.user_attrs["key"] for t in trials}) == ALL
    assert {t.user_attrs["budget_name"] for t in trials} == {"proxy", "two_epochs", "reference"}
    assert all("signal/neg_sotl" in t.user_attrs["metrics"] for t in trials)
    assert {t.user_attrs["budget"]["train_samples"] for t in trials} == {200, 400}
    assert {t.user_attrs["budget"]["epochs"] for t in trials} == {1, 2}


def test_show_prints_it_again_and_a_rerun_trains_nothing(calibrated: Calibrated) -> None:
    assert _main("calibrate", str(calibrated.config), "--show")[1] == calibrated.out
    before = [t.datetime_complete for t in _trials(calibrated.url)]
    status, out, err = _main("calibrate", str(calibrated.config), *ARGS, *PROXIES)
    assert status == 0 and out == calibrated.out
    assert f"{ALL} runs stored, 0 to train" in err and "calibrate: 1/" not in err
    assert [t.datetime_complete for t in _trials(calibrated.url)] == before


def test_study_storage_and_scale_flags_name_the_calibration(
    calibrated: Calibrated, tmp_path: Path
) -> None:
    """A config naming another study, storage and reference scale, run with the flags that
    name the calibrated ones, finds every run stored: the reference trains ``--scale`` x the
    proxy's images (2 x 200), not the file's 4 x."""
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    text = calibrated.config.read_text()
    for old, new in ((f'"{STUDY}"', '"elsewhere"'), (calibrated.url, other_url)):
        assert old in text
        text = text.replace(old, new)
    other = tmp_path / "other.toml"
    other.write_text(text.replace("scale = 2.0", "scale = 4.0"))
    flags = ["--study", STUDY, "--storage", calibrated.url]
    assert _main("calibrate", str(other), "--show", *flags)[1] == calibrated.out
    status, out, err = _main("calibrate", str(other), *ARGS, *PROXIES, *flags, "--scale", "2")
    assert status == 0 and out == calibrated.out
    assert f"{ALL} runs stored, 0 to train" in err, err
    assert not (tmp_path / "other.db").exists(), "the config's own storage is never opened"


def test_search_reports_the_fidelity_of_its_signal(calibrated: Calibrated) -> None:
    config = SearchConfig.from_toml(calibrated.config)
    note = fidelity_note(config, open_storage(calibrated.url, create=False))
    assert note is not None
    assert note.startswith(f"calibrated fidelity: {config.objectives.signal} tau ")
    other = replace(config, proxy=replace(config.proxy, epochs=2))
    assert "not applied" in str(fidelity_note(other, open_storage(calibrated.url)))


def test_search_refuses_a_proxy_calibrated_below_min_tau(
    calibrated: Calibrated, tmp_path: Path
) -> None:
    summary = load_summary(open_storage(calibrated.url), STUDY)
    assert summary is not None
    signal, row = min(summary["signals"]["proxy"].items(), key=lambda s: s[1]["tau"]["value"])
    if row["tau"]["value"] >= 1:
        pytest.skip("every signal ranked the 3 specs perfectly: nothing to refuse")
    path = tmp_path / "search.toml"
    text = calibrated.config.read_text().replace("[space]", "[objectives]\nsignal = " + (
        f'"{signal}"\n[calibrate]\nmin_tau = {min(1.0, row["tau"]["value"] + 0.01)}\n[space]'
    ), 1)  # fmt: skip
    path.write_text(text)
    status, _, err = _main("search", str(path))
    assert status == 2, err
    assert err.count("\n") == 1 and f"proxy refused: its {signal} ranked with tau" in err
    names = {s.study_name for s in optuna.get_all_study_summaries(calibrated.url)}
    assert STUDY not in names, "refused before the search study was created"


def test_show_without_a_calibration_is_one_line(tmp_path: Path) -> None:
    config, _ = tiny_config(tmp_path)
    status, _, err = _main("calibrate", str(config), "--show")
    assert status == 2 and err.count("\n") == 1 and "no calibration of study 'tiny'" in err


def test_min_tau_without_a_calibration_is_a_note(tmp_path: Path) -> None:
    config = replace(SearchConfig(), calibrate=CalibrateSection(min_tau=0.3))
    assert "min_tau 0.3 not checked" in str(fidelity_note(config, None))


def test_too_few_specs_or_seeds_or_a_bad_candidate_are_refused(tmp_path: Path) -> None:
    config, _ = tiny_config(tmp_path)
    status, _, err = _main("calibrate", str(config), "--proxies", "reference:epochs=2")
    assert status == 2 and "with a new NAME" in err
    status, _, err = _main("calibrate", str(config), "--proxies", "x:epochs=0")
    assert status == 2 and err.startswith("nas calibrate: error: --proxies x: ")
    status, _, err = _main("calibrate", str(config), "--specs", "2")
    assert status == 2 and "at least 3 specs" in err
    status, _, err = _main("calibrate", str(config), "--seeds", "1")
    assert status == 2 and "at least 2 seeds" in err


def test_a_run_that_cannot_fit_the_cluster_is_one_line(tmp_path: Path) -> None:
    config, _ = tiny_config(tmp_path)
    config.write_text(config.read_text() + "[resources]\ncpus_per_trial = 512\n")
    status, _, err = _main("calibrate", str(config), *ARGS)
    assert status == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("nas calibrate: error: resources.cpus_per_trial = 512, but the Ray")
