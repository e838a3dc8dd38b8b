"""The noise-aware front through the CLI on a real SQLite study: ``nas pareto`` declares ties and
keeps the members the proxy's noise cannot rule out, ``nas export --knee``/``--best`` choose by
the one-standard-error rule and say why (docs/noise.md)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial

from nas.cli import main
from nas.results.noise_record import NoiseRecord, save
from searchspace.spec import ArchSpec
from tests.nas.export_specs import ECA, PLAIN, SE, SE_POST, spec
from tests.nas.modules import load_module

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

GC = spec({"block": "gc", "position": "stage_end"})
# number: (accuracy, MACs, spec). The front of the means is 4, 0, 1, 3 with the knee at 1;
# trial 2 is 0.005 behind trial 1 at more MACs: dominated by the means, not beyond noise.
TRIALS = [
    (0.790, 40e6, PLAIN),
    (0.800, 41e6, SE),
    (0.795, 42e6, ECA),
    (0.860, 60e6, SE_POST),
    (0.700, 39e6, GC),
]
# The most accurate member (2) and a cheaper one 0.02 behind (1): tied at 1.96 SE of the
# difference (0.016 here), not within one SE of it.
WIDE = [(0.790, 40e6, PLAIN), (0.840, 50e6, SE), (0.860, 60e6, SE_POST)]
# One run's SE: sqrt(0.01**2 + p (1 - p) / 5000) = 0.0115; a difference's: 0.016.
PROXY = NoiseRecord(sd=0.01, df=7, specs=7, runs=14, metric="val_accuracy", val_images=5000)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('noise') / 'nas.db'}"
    for name, trials in (("noisy", TRIALS), ("old", TRIALS), ("wide", WIDE)):
        study = optuna.create_study(
            study_name=name, storage=url, directions=["maximize", "minimize"]
        )
        study.set_metric_names(["val_accuracy", "macs"])
        for number, (accuracy, macs, raw) in enumerate(trials):
            attrs = {"spec": raw, "spec_id": f"id{number}", "params": 1000}
            study.add_trial(create_trial(values=[accuracy, macs], user_attrs=attrs))
        if name != "old":
            save(study, "proxy", PROXY)
    return url


def test_pareto_declares_ties_and_keeps_what_noise_cannot_rule_out(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pareto", "--storage", url, "--study", "noisy", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    front = {e["trial"]: e for e in result["front"]}
    assert list(front) == [4, 0, 1, 2, 3], "cheapest first; 2 joins the front of the means"
    assert result["measured_noise"] is True and result["noise"]["proxy"]["sd"] == 0.01
    assert result["noisy_front"] == [4, 0, 1, 2, 3]
    assert front[0]["tied_with"] == [1, 2] and front[2]["tied_with"] == [0, 1]
    assert front[3]["tied_with"] == [] and front[4]["tied_with"] == []
    assert front[1]["knee"] and front[1]["n"] == 1 and front[1]["mean"] == 0.8
    assert front[1]["se"] == pytest.approx((0.01**2 + 0.8 * 0.2 / 5000) ** 0.5)

    assert main(["pareto", "--storage", url, "--study", "noisy"]) == 0
    heading, header, *rows = capsys.readouterr().out.splitlines()
    assert "± is one standard error" in heading
    assert header.split()[:3] == ["trial", "accuracy", "n"] and "tied with" in header
    one = next(r for r in rows if r.split()[0] == "1*")
    assert "0.80 ± 0.01" in one and "0.8000" not in one, "no more digits than the SE supports"
    assert "0, 2" in one
    assert rows[-1].startswith("proxy noise: one run varies by ±0.024; differences under 0.039")

    old = ["pareto", "--storage", url, "--study", "old", "--json"]
    assert main(old) == 0
    result = json.loads(capsys.readouterr().out)
    assert [e["trial"] for e in result["front"]] == [4, 0, 1, 3] == result["noisy_front"]


def test_knee_and_best_follow_the_one_standard_error_rule(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.py"
    assert main(["export", "--storage", url, "--study", "noisy", "--knee", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert ArchSpec.from_dict(load_module(out).SPEC) == ArchSpec.from_dict(PLAIN), "trial 0"
    assert "chose trial 0: one-standard-error rule around the knee (trial 1): trial 0" in said
    assert "the members within 1 SE of it (also within 1 SE: trial 1, trial 2)" in said
    doc = load_module(out).__doc__
    assert "one-standard-error rule around the knee (trial 1)" in doc
    assert 'accuracy: "proxy val_accuracy 0.79 +- 0.01 (n=1)"' in doc

    assert main(["export", "--storage", url, "--study", "noisy", "--best", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert ArchSpec.from_dict(load_module(out).SPEC) == ArchSpec.from_dict(SE_POST), "trial 3"
    assert "chose trial 3: one-standard-error rule around the most accurate member" in said
    assert "trial 3 has the fewest MACs of itself and the members within 1 SE of it" in said
    assert "(within 1 SE: none)" in said and "not taken" not in said

    assert main(["export", "--storage", url, "--study", "old", "--knee", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert ArchSpec.from_dict(load_module(out).SPEC) == ArchSpec.from_dict(SE), "the knee itself"
    assert "carry no measured noise, so the one-standard-error rule is not applied" in said


def test_the_choice_line_does_not_contradict_the_tables_ties(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A member ``nas pareto`` ties with the anchor (1.96 SE) but beyond one SE of it is not
    taken, and the choice line says so in words other than the table's "tied with"."""
    assert main(["pareto", "--storage", url, "--study", "wide", "--json"]) == 0
    front = {e["trial"]: e for e in json.loads(capsys.readouterr().out)["front"]}
    assert front[2]["tied_with"] == [1], "the table ties the cheaper member with the best"

    out = tmp_path / "wide.py"
    assert main(["export", "--storage", url, "--study", "wide", "--best", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    line = next(x for x in said.splitlines() if x.startswith("chose trial"))
    assert line.startswith("chose trial 2: one-standard-error rule around the most accurate")
    assert "within 1 SE: none" in line and "tied with it" not in line
    assert line.endswith(
        "; not taken: trial 1 (50.0M MACs), tied with trial 2 in nas pareto (1.96 SE) but not "
        "within 1 SE"
    )
