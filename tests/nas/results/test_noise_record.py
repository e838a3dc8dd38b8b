"""The study's noise records (``noise:proxy``, ``noise:confirm``) on a real SQLite study, and a
study without them, which opens with the front it always had and says it measured no noise."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial

from nas.cli import main
from nas.results.front import StudyFront
from nas.results.noise_record import NO_NOISE, NoiseRecord, measure, records, save
from storage.internals import storage_of

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

RECORD = NoiseRecord(sd=0.01, df=7, specs=7, runs=14, metric="val_accuracy", val_images=5000)


def _study(url: str, name: str) -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["val_accuracy", "macs"])
    for number, (accuracy, macs) in enumerate([(0.79, 40e6), (0.80, 41e6), (0.86, 60e6)]):
        study.add_trial(create_trial(values=[accuracy, macs], user_attrs={"spec_id": f"s{number}"}))
    return study


def test_a_record_round_trips_through_the_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = _study(url, "s")
    runs = [[0.80, 0.82], [0.70, 0.71, 0.69], [0.9]]  # the single run adds nothing
    record = measure(runs, metric="val_accuracy", val_images=5000, budget={"epochs": 3})
    assert (record.df, record.specs, record.runs) == (3, 2, 5)
    assert record.sd == pytest.approx(((0.0002 + 0.0002) / 3) ** 0.5)
    save(study, "proxy", record)
    save(study, "confirm", RECORD)
    stored = optuna.load_study(study_name="s", storage=url).user_attrs
    assert stored["noise:proxy"]["metric"] == "val_accuracy"
    assert records(stored) == {"proxy": record, "confirm": RECORD}
    assert NoiseRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    with pytest.raises(ValueError, match="malformed noise record"):
        NoiseRecord.from_json({"sd": 0.01, "df": 1})
    with pytest.raises(ValueError, match="runs = df \\+ specs"):
        NoiseRecord(sd=0.01, df=2, specs=2, runs=5, metric="val_accuracy")
    with pytest.raises(ValueError, match="noise stage 'search'"):
        save(study, "search", record)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one spec with two runs"):
        measure([[0.8], [0.7]], metric="val_accuracy")


def test_the_printed_line_says_what_is_not_resolved() -> None:
    # t = t(0.975, 7) = 2.365: t * 0.01 = 0.0236; t * sqrt(2) * sqrt(0.01**2 + 0.8 * 0.2 / 5000)
    # = 0.0384 (the gap on the same t: 7 degrees of freedom measure the sd loosely)
    line = RECORD.summary("proxy", accuracy=0.8)
    assert line.startswith(
        "proxy noise: one run varies by ±0.024; differences under 0.038 are not resolved at this "
        "budget (val_accuracy, single runs; sd pooled over 7 specs, 14 runs)"
    ), line
    assert "means of 2 runs" in RECORD.summary("confirm", runs=2, accuracy=0.8)
    assert RECORD.applies_to("val_accuracy") and not RECORD.applies_to("neg_tail_loss")
    at = NoiseRecord(0.01, 1, 1, 2, "val_accuracy", budget={"epochs": 3})
    assert at.applies_to("val_accuracy", {"epochs": 3})
    assert not at.applies_to("val_accuracy", {"epochs": 4}), "another budget's noise"


def test_a_study_without_records_opens_and_says_it_measured_no_noise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = _study(url, "old")
    study.set_user_attr("confirmed:1", {"number": 1, "val_accuracy": 0.7954})  # one run, no list
    front = StudyFront.load(storage_of(study), "old")
    assert [m.number for m in front.members] == [0, 1, 2] and not front.noise
    assert front.noise_lines() == [NO_NOISE] and not front.measured
    member = next(m for m in front.members if m.number == 1)
    assert member.confirmed_estimate is not None and member.confirmed_estimate.se is None
    assert member.estimate("confirmed").format() == "0.795 (n=1, no measured noise)"

    assert main(["pareto", "--storage", url, "--study", "old"]) == 0
    heading, header, *rows = capsys.readouterr().out.splitlines()
    assert heading.endswith("; values carry no measured noise"), heading
    assert header.split()[:3] == ["trial", "accuracy", "proxy"], "the table it always had"
    assert "0.795 " in rows[1] and "0.7954" not in rows[1], "no fourth decimal it cannot show"
    assert "±" not in "".join(rows) and len(rows) == 3

    assert main(["pareto", "--storage", url, "--study", "old", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["noise"] == {} and result["measured_noise"] is False
    (confirmed,) = [e for e in result["front"] if e["trial"] == 1]
    assert (confirmed["mean"], confirmed["se"], confirmed["n"]) == (0.7954, None, 1)
    assert all(e["tied_with"] == [] for e in result["front"])


def test_without_records_the_proxy_shows_the_digits_of_its_validation_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,000 validation images resolve about 1.3 points (binomial): two decimals, not four;
    the JSON keeps every digit for machines."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = _study(url, "old")
    study.set_user_attr("config", {"proxy": {"val_samples": 1000}})
    assert main(["pareto", "--storage", url, "--study", "old"]) == 0
    _, _, *rows = capsys.readouterr().out.splitlines()
    assert [row.split()[1] for row in rows] == ["0.79", "0.80", "0.86"]
    assert main(["pareto", "--storage", url, "--study", "old", "--json"]) == 0
    front = json.loads(capsys.readouterr().out)["front"]
    assert [(e["mean"], e["se"]) for e in front] == [(0.79, None), (0.80, None), (0.86, None)]
