"""``nas search`` as a user runs it: the default sampler (NSGA-II) and pruner (Pareto) at their
default settings, TPE past its default start-up, and a sampler that breaks mid-search.

Real Ray, real SQLite, real Fashion-MNIST IDX files (``.ci/setup`` installs them), a proxy of a
few hundred images. The first test runs the CLI in a subprocess, exactly like the README's
command; the others call ``main()`` in-process on the module's Ray.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.cli import main
from nas.confirm import confirmations
from nas.results.front import StudyFront
from nas.results.pareto import pareto_mask
from nas.sampling import SAMPLERS, SamplerView
from nas.search.trials import INTERRUPTED
from storage import open_storage
from tests.nas.export_limits import LIMITS
from tests.nas.modules import load_module
from tests.nas.searches import small_search

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _trials(url: str, study: str) -> dict[TrialState, list[optuna.trial.FrozenTrial]]:
    loaded = optuna.load_study(study_name=study, storage=url)
    return {s: loaded.get_trials(states=(s,)) for s in TrialState}


def test_default_sampler_and_pruner_in_a_fresh_process(tmp_path: Path) -> None:
    config, url = small_search(tmp_path, "defaults"), f"sqlite:///{tmp_path / 'nas.db'}"
    command = [sys.executable, "-m", "nas", "search", str(config), "--storage", url]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "12/12 finished trials" in run.stdout and "Pareto front" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr

    study = optuna.load_study(study_name="defaults", storage=url)
    assert study.user_attrs["config"]["search"]["sampler"] == "nsga2"
    assert study.user_attrs["config"]["search"]["pruner"] == "pareto"
    by_state = _trials(url, "defaults")
    failed = [t.user_attrs.get("fail_reason") for t in by_state[TrialState.FAIL]]
    assert not failed, failed
    pruned, complete = by_state[TrialState.PRUNED], by_state[TrialState.COMPLETE]
    assert pruned, [t.intermediate_values for t in study.trials]
    for trial in pruned:
        assert trial.values is None and trial.user_attrs["macs"] > 0
        assert sorted(trial.intermediate_values) == [1], "stopped at the first rung, epoch 1"
    trained = [t for t in complete if "reused_from" not in t.user_attrs]
    assert all(sorted(t.intermediate_values) == [1, 2, 3] for t in trained)
    proposed = [t for t in study.trials if not {"reference", "replica_of"} & set(t.user_attrs)]
    assert all("NSGAIISampler:generation" in t.system_attrs for t in proposed), "NSGA-II drew"
    mask = pareto_mask([t.values for t in complete], ["maximize", "minimize"])
    front = {t.number for t, on in zip(complete, mask, strict=True) if on}
    assert front and not front & {t.number for t in pruned}

    # The default [confirm]: every front member retrained on 4x the proxy's 300 images, at two
    # seeds whose spread is the confirmation's measured noise, printed and stored.
    assert "front members confirmed" in run.stdout
    opening = "x 2 seeds on 1,200 training images x 3 epochs: "
    assert opening in run.stdout and "(from their search runs' times)" in run.stdout, "its cost"
    assert "confirm noise: one run varies by ±" in run.stdout, run.stdout[-2000:]
    assert "± is one standard error" in run.stdout and study.user_attrs["noise:confirm"]["df"] >= 1
    # The default [noise]: two references trained again at proxy seed 1, never pruned; their
    # spread is the proxy's noise, and the members not dominated beyond it are confirmed.
    replicas = [t for t in study.trials if "replica_of" in t.user_attrs]
    assert [t.state for t in replicas] == [TrialState.COMPLETE] * 2
    assert "proxy noise: one run varies by ±" in run.stdout, run.stdout[-2000:]
    assert study.user_attrs["noise:proxy"]["runs"] == 4
    members = StudyFront.load(open_storage(url), "defaults").most_accurate_first()
    assert not {m.number for m in members} & {t.number for t in replicas}
    confirmed = confirmations(study)
    assert set(confirmed) == {m.number for m in members[:8]}
    for confirmation in confirmed.values():
        assert confirmation.budget["train_samples"] == 1200
        assert confirmation.budget["epochs"] == 3 and len(confirmation.accuracies) == 2
        assert 0.2 < confirmation.val_accuracy <= 1.0
        assert confirmation.proxy_accuracy == study.trials[confirmation.number].values[0]

    # What the user does next (issue 27): the knee as one module that scripts, runs on its
    # own, and goes to ONNX (the command itself checks ONNX Runtime against PyTorch, 1e-4).
    export_knee_as_a_user_would(tmp_path, url, env)


def export_knee_as_a_user_would(folder: Path, url: str, env: dict[str, str]) -> None:
    """``nas export --knee -o model.py --onnx model.onnx`` on the default study, then
    ``python model.py`` and ``torch.jit.script(build_model())``, each in a fresh process."""
    command = [sys.executable, "-m", "nas", "export", "--study", "defaults", "--storage", url]
    command += ["--knee", "-o", "model.py", "--onnx", "model.onnx"]
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    blocks = {
        stage.get("block", "none") for stage in load_module(folder / "model.py").SPEC["stages"]
    }
    scripts = not blocks & set(LIMITS["torchscript"])
    if scripts:
        assert (
            "TorchScript: torch.jit.script(build_model()) compiles and matches eager" in run.stdout
        )
    else:  # the .py is written, with a note naming the block
        assert (
            "note: block '" in run.stdout + run.stderr and "TorchScript" in run.stdout + run.stderr
        )
    unsupported = blocks & set(LIMITS["onnx"])
    if unsupported:  # the command names the block in one line and writes no .onnx
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert f"block '{min(unsupported)}'" in run.stderr and not (folder / "model.onnx").exists()
    else:
        assert run.returncode == 0, run.stderr[-2000:]
        assert "wrote model.onnx (one file, dynamic batch" in run.stdout, run.stdout
    summary = subprocess.run(
        [sys.executable, "model.py"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
    assert summary.startswith("resnet20") and "MACs:" in summary and "Papers:" in summary
    assert "build_model():" in summary and "parameters" in summary, summary
    script = "import torch, model; torch.jit.script(model.build_model())"
    scripted = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True)
    assert (scripted.returncode == 0) == scripts, scripted.stderr[-2000:]


def test_tpe_past_its_default_startup_prunes_and_ends_with_a_front(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = small_search(tmp_path, "tpe"), f"sqlite:///{tmp_path / 'nas.db'}"
    args = ["search", str(config), "--storage", url, "--sampler", "tpe", "--trials", "14"]
    args.append("--no-confirm")  # confirmation is tested on the defaults above
    assert main([*args, "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "14/14 finished trials" in out and "Pareto front" in out
    by_state = _trials(url, "tpe")
    assert by_state[TrialState.PRUNED] and by_state[TrialState.COMPLETE]
    assert all(t.intermediate_values for t in by_state[TrialState.PRUNED])
    assert len([t for s in by_state.values() for t in s]) > 10, "past TPE's 10 start-up trials"


class BreaksAfter(optuna.samplers.RandomSampler):
    """A sampler with a bug: its 25th draw of a parameter raises."""

    draws = 0

    def sample_independent(self, study, trial, param_name, param_distribution):  # type: ignore[no-untyped-def]
        BreaksAfter.draws += 1
        if BreaksAfter.draws == 25:
            raise RuntimeError("injected sampler bug")
        return super().sample_independent(study, trial, param_name, param_distribution)


def test_a_sampler_that_breaks_stops_the_search_in_one_line_and_loses_nothing(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    @SAMPLERS.register("breaks")
    def breaks(*, seed: int | None = None) -> optuna.samplers.BaseSampler:
        return SamplerView(BreaksAfter(seed=seed))

    config, url = small_search(tmp_path, "broken"), f"sqlite:///{tmp_path / 'nas.db'}"
    args = ["search", str(config), "--storage", url, "--trials", "8", "--no-confirm"]
    try:
        assert main([*args, "--sampler", "breaks"]) == 1
    finally:
        SAMPLERS.unregister("breaks")
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("nas search")]
    assert len(errors) == 1, captured.err
    assert "sampler 'breaks' failed: RuntimeError: injected sampler bug" in errors[0]
    assert "run the same command to continue" in errors[0]
    assert "Traceback" not in captured.err + captured.out

    before = _trials(url, "broken")
    assert not before[TrialState.RUNNING], "nothing is left RUNNING"
    complete = {t.number: t for t in before[TrialState.COMPLETE]}
    assert complete, "trials completed before the sampler broke"
    interrupted = [
        t for t in before[TrialState.FAIL] if t.user_attrs.get("fail_reason") == INTERRUPTED
    ]
    assert interrupted, "the trial being drawn (and any in flight) is FAIL (interrupted)"

    assert main([*args, "--sampler", "random"]) == 0
    after = _trials(url, "broken")
    ended = [t for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) for t in after[s]]
    assert len([t for t in ended if t.user_attrs.get("fail_reason") != INTERRUPTED]) == 8
    assert not after[TrialState.RUNNING] and not after[TrialState.WAITING]
    for number, trial in complete.items():
        again = next(t for t in after[TrialState.COMPLETE] if t.number == number)
        assert again.values == trial.values and again.datetime_complete == trial.datetime_complete
    reruns = {"reused_from", "replica_of"}  # a replica trains a reference again on purpose
    fresh = [t for t in after[TrialState.COMPLETE] if not reruns & set(t.user_attrs)]
    trained = [t.user_attrs["spec_id"] for t in fresh]
    assert len(trained) == len(set(trained)), "no completed spec was trained again"


class BreaksAtOnce(optuna.samplers.RandomSampler):
    """A sampler that raises before its first trial: the search fails before any training."""

    def before_trial(self, study, trial):  # type: ignore[no-untyped-def]
        raise RuntimeError("injected sampler bug")


def test_verbose_shows_the_traceback_of_a_driver_failure(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/search.md: a failed driver is one line, ``--verbose`` adds its traceback."""

    @SAMPLERS.register("breaks_at_once")
    def breaks_at_once(*, seed: int | None = None) -> optuna.samplers.BaseSampler:
        return BreaksAtOnce(seed=seed)

    config, url = small_search(tmp_path, "verbose"), f"sqlite:///{tmp_path / 'nas.db'}"
    args = ["search", str(config), "--storage", url, "--trials", "2", "--no-confirm"]
    try:
        assert main([*args, "--sampler", "breaks_at_once", "--verbose"]) == 1
    finally:
        SAMPLERS.unregister("breaks_at_once")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "in before_trial" in err and "RuntimeError: injected sampler bug" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("nas search: error: sampler 'breaks_at_once' failed"), last
