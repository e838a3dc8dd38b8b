"""The Pareto pruner inside a real ``nas search``: the CLI in a subprocess, Ray Tune, SQLite,
tiny real IDX data.

What the issue asks of it end to end: at least one trial ends PRUNED, a pruned trial keeps its
learning curve up to the rung that stopped it, and no pruned trial is on the front (a PRUNED
trial has no objective values at all, so it cannot be).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.frontier import pareto_mask
from tests.nas.idx import write_fashion_mnist

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
[search]
study = "pruned"
trials = 6
concurrency = 1
seed = 0
sampler = "random"
pruner = "pareto"
[pruner]
min_trials_per_rung = 2
[space]
width = 0.5
blocks = ["none", "se", "eca"]
positions = ["branch", "stage_end"]
[data]
data_dir = "{data}"
download = false
[proxy]
epochs = 3
train_samples = 150
val_samples = 50
width = 0.5
batch_size = 50
augment = false
"""


def test_search_with_the_pareto_pruner(tmp_path: Path) -> None:
    data = write_fashion_mnist(tmp_path / "idx", n=200)
    config = tmp_path / "search.toml"
    config.write_text(CONFIG.format(data=data))
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    command = [sys.executable, "-m", "nas", "search", str(config), "--storage", url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]

    study = optuna.load_study(study_name="pruned", storage=url)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    failed = [t.user_attrs.get("fail_reason") for t in study.get_trials(states=(TrialState.FAIL,))]
    assert not failed, failed
    assert pruned, [t.intermediate_values for t in study.trials]
    for trial in pruned:
        assert trial.values is None
        assert sorted(trial.intermediate_values) == [1], "stopped at the first rung, epoch 1"
        assert trial.user_attrs["macs"] > 0
    trained = [t for t in complete if "reused_from" not in t.user_attrs]
    assert all(sorted(t.intermediate_values) == [1, 2, 3] for t in trained)
    values = [t.values for t in complete]
    mask = pareto_mask(values, ["maximize", "minimize"])
    front = {t.number for t, on in zip(complete, mask) if on}
    assert front and not front & {t.number for t in pruned}
