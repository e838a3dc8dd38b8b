"""``nas pareto`` and ``nas studies`` through the real CLI on a study written with Optuna in the
docs/study-format.md shape (multi-objective, metric names, user_attrs, every trial state)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nas.cli import main
from searchspace.spec import ArchSpec
from storage import open_storage

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

STUDY = "attention-nas"
STAGES = {  # one attention choice per stage of a CIFAR-style ResNet-20
    "none": [{}, {}, {}],
    "se": [{"block": "se", "params": {"ratio": 8}}, {}, {}],
    "se_all": [{"block": "se", "params": {"ratio": 16}}] * 3,
    "eca": [{}, {"block": "eca"}, {}],
    "gc": [{}, {}, {"block": "gc", "position": "stage_end"}],
    "cbam": [{"block": "cbam"}] * 3,
    "nonlocal": [{}, {}, {"block": "nonlocal", "position": "stage_end"}],
}
# name -> (val_accuracy, MACs, state, reference); PRUNED/FAIL/RUNNING have no values.
TRIALS = [
    ("none", 0.80, 40.0e6, "COMPLETE", "no_attention"),
    ("se", 0.84, 40.5e6, "COMPLETE", "se_branch"),
    ("se_all", 0.83, 41.0e6, "COMPLETE", None),  # dominated by "se"
    ("eca", 0.84, 40.5e6, "COMPLETE", None),  # ties "se": both non-dominated
    ("gc", 0.86, 45.0e6, "COMPLETE", "gc_stage_end"),
    ("cbam", 0.85, 60.0e6, "COMPLETE", "cbam_all"),  # dominated by "gc"
    ("nonlocal", 0.90, 90.0e6, "COMPLETE", "nonlocal_last"),
    ("se", 0.84, 40.5e6, "COMPLETE", None),  # reuses trial 1's result: listed once
    ("cbam", 0.0, 0.0, "PRUNED", None),
    ("se_all", 0.0, 0.0, "FAIL", None),
]


def _spec(name: str) -> dict[str, object]:
    raw = {"backbone": "resnet20", "in_channels": 1, "num_classes": 10, "input_size": 28}
    return ArchSpec.from_dict({**raw, "stages": STAGES[name]}).to_dict()


def _write_study(url: str, name: str = STUDY) -> None:
    study = optuna.create_study(
        storage=open_storage(url), study_name=name, directions=["maximize", "minimize"]
    )
    study.set_metric_names(["val_accuracy", "macs"])
    for number, (design, accuracy, macs, state, reference) in enumerate(TRIALS):
        spec = ArchSpec.from_dict(_spec(design))
        attrs: dict[str, object] = {
            "spec": spec.to_dict(),
            "spec_id": spec.canonical_id,
            "macs": int(macs),
            "params": 270_000 + 1000 * number,
        }
        if reference:
            attrs["reference"] = reference
        if number == 7:
            attrs["reused_from"] = 1
        if state == "FAIL":
            attrs["fail_reason"] = "loss diverged at epoch 1"
        complete = state == "COMPLETE"
        study.add_trial(
            create_trial(
                state=TrialState[state],
                values=[accuracy, macs] if complete else None,
                user_attrs=attrs,
                intermediate_values={1: accuracy - 0.1, 2: accuracy} if complete else {1: 0.3},
            )
        )
    study.ask()  # one RUNNING trial


def _non_dominated(points: list[tuple[float, float]]) -> set[int]:
    """Brute force: rows no other row beats (accuracy max, MACs min)."""
    return {
        i
        for i, (a, m) in enumerate(points)
        if not any(a2 >= a and m2 <= m and (a2 > a or m2 < m) for a2, m2 in points)
    }


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('pareto') / 'nas.db'}"
    _write_study(url)
    optuna.create_study(storage=open_storage(url), study_name="empty", directions=["maximize"] * 2)
    return url


def test_json_front_is_exactly_the_non_dominated_set(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pareto", "--storage", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    complete = [i for i, t in enumerate(TRIALS) if t[3] == "COMPLETE"]
    expected = {complete[i] for i in _non_dominated([TRIALS[i][1:3] for i in complete])}
    assert expected == {0, 1, 3, 4, 6, 7}
    expected.discard(7)  # the reused result is listed under the trial that trained it
    front = result["front"]
    assert {e["trial"] for e in front} == expected
    assert [e["macs"] for e in front] == sorted(e["macs"] for e in front)
    assert (result["n_trials"], result["n_complete"]) == (11, 8)
    assert result["metric_names"] == ["val_accuracy", "macs"]
    by_trial = {e["trial"]: e for e in front}
    assert by_trial[1]["stages"] == ["se(ratio=8)@branch/all", "none", "none"]
    assert by_trial[1]["reference"] == "se_branch"
    assert by_trial[6]["values"] == {"val_accuracy": 0.90, "macs": 90.0e6}
    assert by_trial[4]["spec"] == _spec("gc")
    assert sum(e["knee"] for e in front) == 1


def test_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pareto", "--storage", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("study 'attention-nas': 5 trials on the front of 8 COMPLETE")
    assert out[1].split()[:4] == ["trial", "accuracy", "MACs", "(M)"]
    trials = [line.split()[0].rstrip("*") for line in out[2:]]
    assert trials == ["0", "1", "3", "4", "6"]  # cheapest first; ties by trial number
    gc_line = next(line for line in out if line.lstrip().startswith("4"))
    assert "0.860 " in gc_line and "45.00" in gc_line and "gc_stage_end" in gc_line
    assert "0.8600" not in gc_line, "no measured noise: no fourth decimal"
    assert "none | none | gc(fusion=add,pooling=att,ratio=16)@stage_end/all" in gc_line
    assert sum("*" in line.split()[0] for line in out[2:]) == 1


def test_plot_is_written(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figure = tmp_path / "figs" / "front.png"
    assert main(["pareto", "--storage", url, "--plot", str(figure)]) == 0
    data = figure.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert f"wrote {figure}" in capsys.readouterr().err


def test_figure_names_the_score_and_labels_confirmed_members(tmp_path: Path) -> None:
    """The y axis is the study's first objective under its own name (a loss signal is not
    drawn as an accuracy), and a confirmed front member carries its confirmed accuracy."""
    from nas.results.front import StudyFront
    from nas.results.plot import study_figure

    url = f"sqlite:///{tmp_path / 'tail.db'}"
    study = optuna.create_study(storage=url, study_name="tail", directions=["maximize", "minimize"])
    study.set_metric_names(["neg_tail_loss", "macs"])
    for values in ([-1.1, 31e6], [-1.2, 28e6], [-1.3, 30e6]):
        study.add_trial(create_trial(values=values, user_attrs={"spec": _spec("none")}))
    study.set_user_attr("confirmed:0", {"number": 0, "val_accuracy": 0.7954})
    axes = study_figure(StudyFront.load(open_storage(url), "tail")).axes[0]
    assert axes.get_ylabel() == "neg_tail_loss (proxy score, higher is better)"
    assert [t.get_text() for t in axes.texts] == ["0.795 confirmed"], "trial 1: not confirmed"


def test_figure_draws_a_replicated_member_at_the_mean_of_its_seeds(tmp_path: Path) -> None:
    """A reference design trained again at another seed is one front member whose score is the
    mean of its runs (docs/noise.md): the figure draws it there, where the table and --json
    put it, not at the first seed's run."""
    from nas.results.front import StudyFront
    from nas.results.plot import study_figure

    url = f"sqlite:///{tmp_path / 'replicas.db'}"
    study = optuna.create_study(storage=url, study_name="r", directions=["maximize", "minimize"])
    study.set_metric_names(["neg_tail_loss", "macs"])
    plain = ArchSpec.from_dict(_spec("none"))
    same = {"spec": plain.to_dict(), "spec_id": plain.canonical_id}
    for values, attrs in (
        ([-1.0, 31e6], {**same, "reference": "no_attention"}),
        ([-1.2, 31e6], {**same, "replica_of": 0, "seed": 1}),
        ([-1.5, 28e6], {"spec": _spec("eca")}),
    ):
        study.add_trial(create_trial(values=values, user_attrs=attrs))
    front = StudyFront.load(open_storage(url), "r")
    assert {m.number: m.proxy_accuracy for m in front.members}[0] == pytest.approx(-1.1)
    axes = study_figure(front).axes[0]
    (drawn,) = [c for c in axes.collections if c.get_label() == "Pareto front"]
    points = sorted(map(tuple, drawn.get_offsets().tolist()))
    assert [x for point in points for x in point] == pytest.approx([28.0, -1.5, 31.0, -1.1])


def test_unknown_study_lists_studies(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pareto", "--storage", url, "--study", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "study 'nope' not found in sqlite:///" in err
    assert "studies there: attention-nas, empty" in err


def test_empty_front_is_reported_not_an_error(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figure = tmp_path / "none.png"
    assert main(["pareto", "--storage", url, "--study", "empty", "--plot", str(figure)]) == 0
    captured = capsys.readouterr()
    assert "study 'empty' has no COMPLETE trials yet (no trials): the front is empty" in (
        captured.err
    )
    assert not figure.exists()
    assert main(["pareto", "--storage", url, "--study", "empty", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["front"] == []


def test_missing_storage_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "nas.db"
    assert main(["pareto", "--storage", str(missing)]) == 2
    assert "does not exist; run `nas search` first" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_studies_table_and_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["studies", "--storage", url, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    by_name = {s["name"]: s for s in listing["studies"]}
    assert by_name["attention-nas"]["counts"] == {
        "COMPLETE": 8,
        "PRUNED": 1,
        "FAIL": 1,
        "RUNNING": 1,
        "WAITING": 0,
    }
    assert by_name["empty"]["n_trials"] == 0
    assert main(["studies", "--storage", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:7] == [
        "study", "trials", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING",
    ]  # fmt: skip
    row = next(line for line in lines if line.startswith("attention-nas"))
    assert row.split()[1:7] == ["11", "8", "1", "1", "1", "0"]
    assert "val_accuracy (max), macs (min)" in row


def test_studies_in_an_empty_storage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    open_storage(url)
    assert main(["studies", "--storage", url]) == 0
    assert "no studies in sqlite:///" in capsys.readouterr().out


def test_front_matches_brute_force_on_random_studies(tmp_path: Path) -> None:
    """StudyFront against the definition on a random 2-objective study with ties."""
    from nas.results.front import StudyFront

    url = f"sqlite:///{tmp_path / 'random.db'}"
    study = optuna.create_study(
        storage=open_storage(url), study_name="r", directions=["maximize", "minimize"]
    )
    rng = np.random.default_rng(0)
    points = [(float(a), float(m)) for a, m in rng.integers(0, 8, size=(80, 2))]
    study.add_trials([create_trial(values=list(p)) for p in points])
    front = StudyFront.load(open_storage(url), "r")
    assert {m.number for m in front.members} == _non_dominated(points)


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("NAS_TEST_POSTGRES_URL"),
    reason=os.environ.get("NAS_TEST_POSTGRES_SKIP_REASON") or "NAS_TEST_POSTGRES_URL is not set",
)
def test_pareto_on_postgres(capsys: pytest.CaptureFixture[str]) -> None:
    url = os.environ["NAS_TEST_POSTGRES_URL"]
    name = f"pareto-{uuid.uuid4().hex[:12]}"
    _write_study(url, name)
    assert main(["pareto", "--storage", url, "--study", name, "--json"]) == 0
    assert [e["trial"] for e in json.loads(capsys.readouterr().out)["front"]] == [0, 1, 3, 4, 6]
