"""``nas search`` end to end: the CLI, real local Ray, real SQLite, tiny real IDX data.

One Ray instance serves the module (``run_search`` reuses a running Ray), so the cost is one
start plus a few two-epoch trainings on 150 images.
"""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from nas.cli import main
from nas.results.noise_record import records
from nas.results.pareto import pareto_mask
from nas.results.replica_noise import UNMEASURED
from nas.search.trials import INTERRUPTED
from tests.idx import write_banded_fashion_mnist
from tests.nas.searches import RANDOM, search_toml

pytestmark = pytest.mark.slow

PROXY = {
    "epochs": 2,
    "train_samples": 150,
    "val_samples": 50,
    "width": 0.5,
    "batch_size": 50,
    "augment": False,
}


def _config(tmp_path: Path, **proxy: object) -> Path:
    data = write_banded_fashion_mnist(tmp_path / "idx", n=200)
    search = {"study": "e2e", "concurrency": 2, **RANDOM}
    path = tmp_path / "search.toml"
    path.write_text(search_toml(data=data, search=search, proxy={**PROXY, **proxy}))
    return path


def _study(url: str) -> optuna.Study:
    return optuna.load_study(study_name="e2e", storage=url)


def test_search_resume_and_front(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = _config(tmp_path), f"sqlite:///{tmp_path / 'nas.db'}"
    assert main(["search", str(config), "--storage", url, "--trials", "3"]) == 0
    out = capsys.readouterr().out
    assert f"SQLite file {tmp_path / 'nas.db'}" in out and "Pareto front" in out
    study = _study(url)
    first = {t.number: t for t in study.trials if t.state in (TrialState.COMPLETE,)}
    assert len(first) == 3, [t.user_attrs.get("fail_reason") for t in study.trials]
    assert study.metric_names == ["neg_tail_loss", "macs"], "the default signal (docs/fidelity.md)"
    assert first[0].user_attrs["reference"] == "no_attention"
    assert "reference" not in first[1].user_attrs, "3 trials spare 1 reference (at most half)"
    for trial in first.values():
        assert set(trial.intermediate_values) == {1, 2}
        assert trial.values[0] == trial.intermediate_values[2] < 0, "minus a loss"
        assert trial.values[1] == trial.user_attrs["macs"] > 0
        for key in ("spec", "spec_id", "params", "proxy", "epochs_trained", "wall_time_s"):
            assert key in trial.user_attrs, key
        assert trial.user_attrs["epochs_trained"] == 2
        assert trial.user_attrs["proxy"]["width"] == 0.5
        assert "checkpoint_artifact" in trial.user_attrs
    assert (tmp_path / "nas.artifacts").is_dir()

    crashed = study.ask()  # what a killed search leaves behind: a RUNNING trial
    crashed.set_user_attr("reference", "cbam_all")
    crashed.suggest_categorical("s0.block", ["none", "se", "eca"])
    assert main(["search", str(config), "--storage", url, "--trials", "6"]) == 0
    assert "resumed: 1 interrupted trial marked FAIL and queued again" in capsys.readouterr().out
    study = _study(url)
    ended = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    finished = [t for t in ended if t.user_attrs.get("fail_reason") != INTERRUPTED]
    assert len(finished) == 6 and len(ended) == 7, "the interrupted trial is not in the budget"
    assert study.trials[crashed.number].state == TrialState.FAIL
    assert study.trials[crashed.number].user_attrs["fail_reason"] == INTERRUPTED
    for number, before in first.items():
        after = study.trials[number]
        assert after.values == before.values
        assert after.datetime_complete == before.datetime_complete
    trained = [t for t in finished if not {"reused_from", "replica_of"} & set(t.user_attrs)]
    complete_ids = [t.user_attrs["spec_id"] for t in trained if t.state == TrialState.COMPLETE]
    assert len(complete_ids) == len(set(complete_ids)), "an equivalent spec was trained twice"
    requeued = [t for t in study.trials if t.user_attrs.get("requeued_from") == crashed.number]
    assert len(requeued) == 1
    assert requeued[0].params["s0.block"] == crashed.params["s0.block"]

    assert main(["search", str(config), "--storage", url, "--trials", "6", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "already has 6 finished trials (budget 6)" in err, "--json: the log goes to stderr"
    shown = json.loads(out)
    assert shown["study"] == "e2e" and shown["finished"] == shown["target"] == 6
    assert shown["front"] and {m["trial"] for m in shown["front"]} <= {t.number for t in finished}
    assert len(_study(url).trials) == len(study.trials), "a finished study starts nothing"

    complete = study.get_trials(states=(TrialState.COMPLETE,))
    values = np.asarray([t.values for t in complete])
    mask = pareto_mask(values, ["maximize", "minimize"])
    assert mask.any()
    front = values[mask]
    for a in front:
        assert not any((b[0] >= a[0] and b[1] <= a[1]) and (b != a).any() for b in values)


def test_diverging_proxy_is_failed_with_reason(tmp_path: Path, ray_cluster: None) -> None:
    # Seeded CPU training is deterministic: this recipe's loss is NaN by step 11 of epoch 1.
    config = _config(
        tmp_path, lr=10.0, weight_decay=1.0, label_smoothing=0.0, warmup_fraction=0.0, batch_size=10
    )
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    # No COMPLETE trial: exit status 1 (the reasons are printed, tests/nas/test_bad_input_storage)
    assert main(["search", str(config), "--storage", url, "--trials", "1"]) == 1
    (trial,) = _study(url).trials[:1]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"], "a FAIL trial names its reason"
    assert (
        "nan" in trial.user_attrs["fail_reason"].lower()
        or "diverg" in trial.user_attrs["fail_reason"].lower()
    )


def test_trainable_that_raises_is_failed_and_the_search_goes_on(
    tmp_path: Path, ray_cluster: None
) -> None:
    from nas.config import SearchConfig
    from nas.search import run_search

    def broken(config: dict[str, object]) -> None:
        raise RuntimeError("boom inside the block")

    raw = tomllib.loads(_config(tmp_path).read_text())
    raw["search"].update(storage=str(tmp_path / "nas.db"), trials=2)
    result = run_search(SearchConfig.from_dict(raw), trainable=broken, stream=io.StringIO())
    assert result.finished == 2
    assert result.counts["FAIL"] == 2 and "COMPLETE" not in result.counts
    for trial in _study(f"sqlite:///{tmp_path / 'nas.db'}").get_trials(states=(TrialState.FAIL,)):
        assert "boom inside the block" in trial.user_attrs["fail_reason"]


def test_trial_past_its_time_limit_is_failed_with_reason(tmp_path: Path, ray_cluster: None) -> None:
    import time

    from ray import tune

    from nas.config import SearchConfig
    from nas.search import run_search

    def slow(config: dict[str, object]) -> None:
        for epoch in range(1, 6):
            time.sleep(0.6)
            tune.report({"epoch": epoch, "val_accuracy": 0.5})

    raw = tomllib.loads(_config(tmp_path).read_text())
    raw["search"].update(storage=str(tmp_path / "nas.db"), trials=1)
    raw["resources"] = {"max_trial_seconds": 1.0}
    result = run_search(SearchConfig.from_dict(raw), trainable=slow, stream=io.StringIO())
    assert result.counts["FAIL"] == 1 and "COMPLETE" not in result.counts
    study = _study(f"sqlite:///{tmp_path / 'nas.db'}")
    (trial,) = study.get_trials(states=(TrialState.FAIL,))
    assert "per-trial time limit of 1 s" in trial.user_attrs["fail_reason"]
    assert len(trial.intermediate_values) < 5, "the trial was stopped, not run to the end"


def test_search_by_validation_accuracy_stores_and_shows_it(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = _config(tmp_path), f"sqlite:///{tmp_path / 'nas.db'}"
    config.write_text(config.read_text() + '[objectives]\nsignal = "best_val_accuracy"\n')
    args = ["--storage", url, "--trials", "3", "--pruner", "median"]
    assert main(["search", str(config), *args]) == 0
    study = _study(url)
    assert study.metric_names == ["val_accuracy", "macs"], "the study names its signal"
    assert study.user_attrs["config"]["objectives"]["signal"] == "best_val_accuracy"
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 3, [t.user_attrs.get("fail_reason") for t in study.trials]
    for trial in complete:
        assert set(trial.intermediate_values) == {1, 2}, "the pruner read the signal per epoch"
        assert trial.values[0] == max(trial.intermediate_values.values()) > 0
    # one trial is the first reference again at proxy seed 1: the proxy's own noise
    replicas = [t for t in complete if "replica_of" in t.user_attrs]
    assert len(replicas) == 1, [t.user_attrs for t in complete]
    replica = replicas[0]
    assert replica.user_attrs["replica_of"] == 0 and replica.user_attrs["seed"] == 1
    assert replica.user_attrs["proxy"]["seed"] == 1 and complete[0].user_attrs["proxy"]["seed"] == 0
    assert replica.params == complete[0].params and "reused_from" not in replica.user_attrs
    record = records(study.user_attrs)["proxy"]
    assert (record.specs, record.runs, record.metric, record.val_images) == (
        1,
        2,
        "val_accuracy",
        50,
    )
    out = capsys.readouterr().out
    assert "nas search: proxy noise: one run varies by ±" in out and "not resolved" in out
    capsys.readouterr()
    assert main(["pareto", "--study", "e2e", "--storage", url]) == 0
    header = capsys.readouterr().out.splitlines()[1]
    assert header.split()[:2] == ["trial", "accuracy"]
    assert (
        main(
            [
                "export",
                "--study",
                "e2e",
                "--storage",
                url,
                "--knee",
                "-o",
                str(tmp_path / "model.py"),
            ]
        )
        == 0
    )


def test_search_without_noise_replicas_stores_no_noise_and_says_so(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = _config(tmp_path), f"sqlite:///{tmp_path / 'nas.db'}"
    config.write_text(config.read_text() + "[noise]\nspecs = 0\n")
    assert main(["search", str(config), "--storage", url, "--trials", "2"]) == 0
    study = _study(url)
    assert not any("replica_of" in t.user_attrs for t in study.trials)
    assert "noise:proxy" not in study.user_attrs
    out = capsys.readouterr().out
    assert f"nas search: {UNMEASURED}" in out, out
    assert "values carry no measured noise" in UNMEASURED
