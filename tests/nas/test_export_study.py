"""``nas export`` through the CLI on a real SQLite study written in the study format."""

from __future__ import annotations

import ast
import io
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState, create_trial

from nas.cli import main
from searchspace.build import build_model
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec
from storage import artifact_store
from tests.nas.export_specs import ECA, FULL, PLAIN, SE, SE_POST
from tests.nas.modules import load_module

HOSTILE = '"""; import os; os.system("touch pwned") #\\ \n'
PROXY = {"epochs": 2, "width": 0.5, "input_size": 16, "in_channels": 1, "num_classes": 10}


# number: (state, (accuracy, MACs), spec). Front: 1 (cheapest), 0 (the knee), 3 (best).
TRIALS: list[tuple[TrialState, tuple[float, float] | None, dict[str, Any]]] = [
    (TrialState.COMPLETE, (0.80, 10e6), SE),
    (TrialState.COMPLETE, (0.70, 8e6), PLAIN),
    (TrialState.COMPLETE, (0.75, 12e6), ECA),
    (TrialState.COMPLETE, (0.90, 30e6), SE_POST),
    (TrialState.FAIL, None, SE),
    (TrialState.PRUNED, None, SE),
]


def write_study(url: str, name: str) -> None:
    """A finished study as ``nas search`` writes it, trial 0 with a proxy checkpoint."""
    study = optuna.create_study(study_name=name, storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["val_accuracy", "macs"])
    store = artifact_store(url)
    torch.manual_seed(0)
    proxy = ArchSpec.from_dict({**SE, **{k: PROXY[k] for k in FULL if k in PROXY}, "width": 0.5})
    buffer = io.BytesIO()
    torch.save(build_model(proxy).state_dict(), buffer)
    buffer.seek(0)
    store.write("checkpoint-0", buffer)
    for number, (state, values, raw) in enumerate(TRIALS):
        attrs: dict[str, Any] = {"spec": raw, "proxy": PROXY, "params": 1234}
        if number == 0:
            attrs["checkpoint_artifact"] = "checkpoint-0"
        if state == TrialState.FAIL:
            attrs["fail_reason"] = "CUDA out of memory"
        study.add_trial(
            create_trial(
                state=state,
                values=list(values) if values else None,
                user_attrs=attrs,
                intermediate_values={1: 0.5} if state != TrialState.FAIL else {},
            )
        )


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('study') / 'nas.db'}"
    write_study(url, "attention-nas")
    write_study(url, HOSTILE)
    return url


def export(url: str, tmp_path: Path, *flags: str) -> ModuleType:
    out = tmp_path / "model.py"
    assert main(["export", "--storage", url, "-o", str(out), *flags]) == 0
    return load_module(out)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--knee"], SE),
        (["--max-macs", "20e6"], SE),
        (["--max-macs", "8e6"], PLAIN),
        (["--min-accuracy", "0.85"], SE_POST),
        (["--min-accuracy", "0.75"], SE),
        (["--trial", "3"], SE_POST),
    ],
)
def test_choices(url: str, tmp_path: Path, flags: list[str], expected: dict[str, Any]) -> None:
    module = export(url, tmp_path, *flags)
    assert ArchSpec.from_dict(module.SPEC) == ArchSpec.from_dict(expected)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--trial", "2"], "trial 2 is not on the Pareto front"),
        (["--trial", "4"], "trial 4 is FAIL (CUDA out of memory)"),
        (["--trial", "5"], "trial 5 is PRUNED"),
        (["--trial", "99"], "has no trial 99"),
        (["--max-macs", "1e6"], "no front trial has MACs <= 1,000,000"),
        (["--min-accuracy", "0.95"], "no front trial reaches accuracy 0.95"),
        (["--knee", "--study", "nope"], "study 'nope' not found"),
    ],
)
def test_refusals(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["export", "--storage", url, "-o", str(tmp_path / "m.py"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err
    if flags[0] == "--trial" and flags[1] != "99":
        assert "front trials: trial 1 (acc 0.700, 8.0M MACs), trial 0" in err
    assert not (tmp_path / "m.py").exists()


def test_origin_and_overrides(url: str, tmp_path: Path) -> None:
    module = export(url, tmp_path, "--knee", "--num-classes", "3", "--in-channels", "2")
    assert module.SPEC["num_classes"] == 3 and module.SPEC["in_channels"] == 2
    assert module.build_model()(torch.randn(1, 2, 28, 28)).shape == (1, 3)
    doc = module.__doc__
    assert 'study: "attention-nas"' in doc and "trial: 0" in doc
    cost = count_cost(ArchSpec.from_dict(module.SPEC))  # the exported scale, not the study's
    assert "val_accuracy: 0.800 (the proxy's score; no measured noise)" in doc
    assert "0.8000" not in doc, "no fourth decimal that no noise supports"
    assert f"MACs: {cost.macs:,} (one 28x28 image" in doc
    assert f"params: {cost.params:,} (as exported)" in doc
    assert "He, Zhang, Ren and Sun, Deep Residual Learning" in doc


def test_weights_are_the_proxy_scale(url: str, tmp_path: Path) -> None:
    module = export(url, tmp_path, "--trial", "0", "--weights")
    assert module.SPEC["width"] == 0.5 and module.SPEC["input_size"] == 16
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    model = module.build_model().eval()
    model.load_state_dict(state, strict=True)
    proxy = ArchSpec.from_dict(module.SPEC)
    reference = build_model(proxy).eval()
    reference.load_state_dict(state)
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))
    assert "trained at the proxy scale" in module.__doc__


def test_weights_refusals(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "m.py")
    flags = ["export", "--storage", url, "-o", out, "--weights"]
    assert main([*flags, "--trial", "3"]) == 2
    assert "has no checkpoint_artifact" in capsys.readouterr().err
    assert main([*flags, "--trial", "0", "--num-classes", "3"]) == 2
    assert "the weights were trained with 10" in capsys.readouterr().err


def test_hostile_study_name_stays_in_the_docstring(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    module = export(url, tmp_path, "--study", HOSTILE, "--knee")
    assert not (tmp_path / "pwned").exists()
    assert f"study: {__import__('json').dumps(HOSTILE)}" in module.__doc__
    tree = ast.parse((tmp_path / "model.py").read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported <= {"__future__", "collections.abc", "typing", "torch"}
    strings = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and "pwned" in str(n.value)]
    assert len(strings) == 1 and strings[0] is tree.body[0].value  # type: ignore[attr-defined]


def test_spec_file_export(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(ArchSpec.from_dict(SE).to_json())
    out = tmp_path / "model.py"
    assert main(["export", "--spec", str(tmp_path / "spec.json"), "-o", str(out)]) == 0
    module = load_module(out)
    assert ArchSpec.from_dict(module.SPEC) == ArchSpec.from_dict(SE)
    count = sum(p.numel() for p in module.build_model().parameters())
    assert count == sum(p.numel() for p in build_model(ArchSpec.from_dict(SE)).parameters())
    assert (
        "class SqueezeExcite" in out.read_text()
        and "class EfficientChannelAttention" not in out.read_text()
    )


def test_attach_uploads_module_and_weights(url: str, tmp_path: Path) -> None:
    from optuna.artifacts import get_all_artifact_meta

    export(url, tmp_path, "--trial", "0", "--weights", "--attach")
    study = optuna.load_study(study_name="attention-nas", storage=url)
    names = {meta.filename for meta in get_all_artifact_meta(study)}
    assert {"trial-0_model.py", "trial-0_model.pt"} <= names


def test_proxy_scale_falls_back_to_the_spec_for_unrecorded_fields() -> None:
    from nas.export.weights import proxy_spec

    full = ArchSpec.from_dict(SE)
    budget = {"epochs": 1, "width": 0.25, "input_size": None}  # a budget, as a search stores it
    proxy = proxy_spec(full, budget)
    assert (proxy.width, proxy.input_size, proxy.in_channels) == (0.25, 28, 1)
    with pytest.raises(ValueError, match="proxy width"):
        proxy_spec(full, {"width": float("nan")})
    with pytest.raises(ValueError, match="no 'proxy' attribute"):
        proxy_spec(full, None)


def test_artifacts_flag_finds_weights_kept_elsewhere(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--artifacts DIR``: the checkpoints in DIR, not in the folder beside the SQLite file
    (what a PostgreSQL storage, which has no such folder, always needs)."""
    from storage.artifacts import artifacts_dir_for

    moved = tmp_path / "moved"
    shutil.copytree(artifacts_dir_for(url), moved)
    module = export(url, tmp_path, "--trial", "0", "--weights", "--artifacts", str(moved))
    module.build_model().load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    (tmp_path / "empty").mkdir()
    flags = ["--trial", "0", "--weights", "--artifacts", str(tmp_path / "empty")]
    assert main(["export", "--storage", url, "-o", str(tmp_path / "m.py"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoint-0" in err, err


def test_docstring_names_the_studys_score_and_the_confirmed_accuracy(tmp_path: Path) -> None:
    """A study scored by another signal than accuracy: the docstring says which, and shows the
    confirmed accuracy where the front was retrained, not the signal as an accuracy."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="tail", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["neg_tail_loss", "macs"])
    for values, raw in [((-1.10, 31e6), PLAIN), ((-1.20, 28e6), SE)]:
        study.add_trial(create_trial(values=list(values), user_attrs={"spec": raw, "params": 9}))
    study.set_user_attr("confirmed:0", {"number": 0, "val_accuracy": 0.7954})
    doc = export(url, tmp_path, "--study", "tail", "--trial", "0").__doc__
    assert "confirmed val_accuracy 0.795 (n=1, no measured noise)" in doc
    assert "neg_tail_loss: -1.100 (the proxy's score; no measured noise)" in doc
    assert "val_accuracy: -1" not in doc and "0.7954" not in doc
    doc = export(url, tmp_path, "--study", "tail", "--trial", "1").__doc__
    assert "confirmed" not in doc
    assert "neg_tail_loss: -1.200 (the proxy's score; no measured noise)" in doc


def test_a_front_ranked_by_a_loss_signal_is_not_read_as_accuracies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without confirmation the front is ranked by the proxy's score: ``--min-accuracy`` has
    no accuracy to compare with, and messages name the score."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="tail", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["neg_tail_loss", "macs"])
    for values, raw in [((-1.10, 31e6), PLAIN), ((-1.20, 28e6), SE), ((-1.3, 30e6), ECA)]:
        study.add_trial(create_trial(values=list(values), user_attrs={"spec": raw}))
    flags = ["export", "--storage", url, "--study", "tail", "-o", str(tmp_path / "m.py")]
    assert main([*flags, "--min-accuracy", "0.7"]) == 2
    assert "proxy scores are neg_tail_loss, not accuracies; run `nas confirm`" in (
        capsys.readouterr().err
    )
    assert main([*flags, "--trial", "2"]) == 2
    assert "trial 1 (neg_tail_loss -1.200, 28.0M MACs)" in capsys.readouterr().err
    module = export(url, tmp_path, "--study", "tail", "--max-macs", "30e6")
    assert ArchSpec.from_dict(module.SPEC) == ArchSpec.from_dict(SE), "trial 1, the best within"
