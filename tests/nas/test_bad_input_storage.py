"""Bad input on an existing study: refused in one line, and the study is left exactly as it was.

One row per case: a config change (TOML appended to the study's own config) and extra flags,
the exit status, a pattern for the one stderr line. Before and after each command the study's
trials (states, values, params, user attributes, curves, times) and its user attributes
(the stored config among them) are dumped to JSON and compared as strings.

The study is made as ``nas search`` makes it (``prepare_study``: stored config and space,
reference designs queued) with finished trials added, so these cases start no Ray. The last
test runs the smallest real search (real Ray, Fashion-MNIST, 1 epoch) in which every trial
fails, then refuses to resume it with another backbone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.cli import main
from tests.nas.kept_study import MIXED, STUDY, make_study, write_config

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

NEW = r"to search with this config start a new study: --study NEW$"


def snapshot(url: str, name: str) -> str:
    """Everything a command could change in the study, as one JSON string."""
    study = optuna.load_study(study_name=name, storage=url)
    trials = [
        {
            "number": t.number,
            "state": t.state.name,
            "values": t.values,
            "params": t.params,
            "user_attrs": t.user_attrs,
            "intermediate": {str(k): v for k, v in t.intermediate_values.items()},
            "times": [str(t.datetime_start), str(t.datetime_complete)],
        }
        for t in study.get_trials(deepcopy=False)
    ]
    return json.dumps({"trials": trials, "attrs": study.user_attrs}, sort_keys=True)


ALL_FAIL = [
    (TrialState.FAIL, "CUDA out of memory"),
    (TrialState.FAIL, "loss diverged at epoch 1"),
    (TrialState.FAIL, "CUDA out of memory"),
]
CASES = [
    (
        '[space]\nbackbone = "resnet32"',
        2,
        r'space\.backbone = "resnet20", this config has "resnet32"',
    ),
    (
        "[space]\nwidth = 0.5",
        2,
        r"space\.width = 1\.0, this config has 0\.5: its trials would not be",
    ),
    (
        "[proxy]\nepochs = 2",
        2,
        r"proxy\.epochs = 1, this config has 2.*keep proxy\.epochs as it was",
    ),
    (
        "[data]\nval_fraction = 0.2",
        2,
        r"created with data\.val_fraction = 0\.1, this config has 0\.2",
    ),
    ('[objectives]\nextra = ["params"]', 2, r"exists with 2 objectives .* config has 3; keep"),
    ('[space]\nblocks = ["none", "se"]', 2, r"searched over another space \(s0\.\S+ differs"),
]


@pytest.mark.parametrize(("extra", "status", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_resume_with_another_meaning_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, status: int, pattern: str
) -> None:
    _, url = make_study(tmp_path, MIXED)
    before = snapshot(url, STUDY)
    changed = write_config(tmp_path / "changed.toml", url, extra=extra)
    capsys.readouterr()
    assert main(["search", str(changed)]) == status
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert re.search(pattern, line) and re.search(NEW, line), line
    assert snapshot(url, STUDY) == before


def test_a_run_that_does_nothing_keeps_the_stored_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = make_study(tmp_path, MIXED)
    before = snapshot(url, STUDY)
    flags = ["--seed", "7", "--sampler", "random", "--concurrency", "1", "--no-confirm"]
    assert main(["search", str(config), *flags]) == 0  # the budget (3) is reached: no Ray
    assert "study already has 3 finished trials (budget 3)" in capsys.readouterr().out
    assert snapshot(url, STUDY) == before, "the stored config says seed 0, sampler nsga2"


@pytest.mark.parametrize(
    ("proxy", "status"), [('device = "cpu"', 0), ("lr = 0.05", 2)], ids=["allowed", "refused"]
)
def test_resume_may_change_where_and_how_trials_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], proxy: str, status: int
) -> None:
    """What docs/search.md lets a resumed study change: where data comes from, where and with
    what a trial runs, and the confirmation after it; none of it changes a trial's result (a
    recipe change does)."""
    _, url = make_study(tmp_path, MIXED)
    extra = (
        f"[data]\ndownload = true\n[proxy]\n{proxy}\n[resources]\ncpus_per_trial = 2.0\n"
        "max_trial_seconds = 60\n[confirm]\nscale = 2.0\nafter_search = false"
    )
    changed = write_config(tmp_path / "changed.toml", url, extra=extra)
    assert main(["search", str(changed)]) == status  # the budget (3) is reached: no Ray
    if status == 0:
        assert "study already has 3 finished trials (budget 3)" in capsys.readouterr().out


def test_no_complete_trial_exits_1_with_each_reason_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = make_study(tmp_path, ALL_FAIL)
    before = snapshot(url, STUDY)
    assert main(["search", str(config), "--no-confirm"]) == 1
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert line == (
        f"nas search: error: study {STUDY!r} has no COMPLETE trial (3 FAIL: 2 x CUDA out of "
        "memory; 1 x loss diverged at epoch 1); fix the cause, then run the same command to "
        "continue"
    )
    assert snapshot(url, STUDY) == before


@pytest.mark.slow
def test_a_real_search_that_fails_every_trial_then_a_refused_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ray_cluster: None
) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    slow = (  # past the time limit after epoch 1 of 2: every trial FAIL, with that reason
        "[resources]\nmax_trial_seconds = 0.001\n[proxy]\nepochs = 2\n"
        '[search]\ntrials = 2\nconcurrency = 1\npruner = "none"'
    )
    config = write_config(tmp_path / "fails.toml", url, "real", slow)
    assert main(["search", str(config), "--no-confirm"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    (line,) = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert re.match(
        r"nas search: error: study 'real' has no COMPLETE trial \(2 FAIL: \d x exceeded the "
        r"per-trial time limit of 0\.001 s",
        line,
    ), line
    study = optuna.load_study(study_name="real", storage=url)
    assert [t.state for t in study.trials if t.state != TrialState.WAITING] == [TrialState.FAIL] * 2
    before = snapshot(url, "real")
    assert before.count('"fail_reason"') == 2
    other = write_config(
        tmp_path / "r32.toml", url, "real", slow + '\n[space]\nbackbone = "resnet32"'
    )
    assert main(["search", str(other)]) == 2
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert (
        'space.backbone = "resnet20", this config has "resnet32"' in line and "--study NEW" in line
    )
    assert snapshot(url, "real") == before


@pytest.mark.slow
def test_sigterm_stops_a_search_like_ctrl_c(tmp_path: Path) -> None:
    """A terminated search exits 130, leaves no Ray folder, and its trials can be resumed."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    url = f"sqlite:///{tmp_path / 'nas.db'}"
    config = write_config(tmp_path / "long.toml", url, "term", "[proxy]\nepochs = 50")
    scratch = Path(tempfile.mkdtemp(prefix="nas-term-", dir="/tmp"))  # Ray's sockets: short
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(Path(__file__).parents[2])}
    command = [sys.executable, "-m", "nas", "search", str(config), "--no-confirm"]
    log = tmp_path / "search.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "running" not in log.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        assert process.poll() is None, log.read_text()[-2000:]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=180)
    finally:
        process.kill()
        left = list(scratch.glob("nas-search-ray-*"))
        shutil.rmtree(scratch, ignore_errors=True)
    assert process.returncode == 130, log.read_text()[-2000:]
    assert not left, "Ray's working folder is left behind"
    study = optuna.load_study(study_name="term", storage=url)
    assert not study.get_trials(states=(TrialState.RUNNING,)), "in-flight trials were marked"
