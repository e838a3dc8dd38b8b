"""``StudyFront.of``: the rules every front reader shares, on hand-made rows (no storage)."""

from __future__ import annotations

import pytest

from nas.results.front import StudyFront
from storage.rows import StudySummary, TrialRow


def _summary(names: tuple[str, ...] | None, directions: tuple[str, ...]) -> StudySummary:
    return StudySummary("s", directions, names, {"COMPLETE": 4}, None)


def _row(number: int, values: tuple[float, ...], **attrs: object) -> TrialRow:
    return TrialRow(number, "COMPLETE", values, {"spec_id": f"id{number}", **attrs})


def test_columns_are_found_by_metric_name_not_position() -> None:
    summary = _summary(("macs", "val_accuracy"), ("minimize", "maximize"))
    rows = [_row(0, (40e6, 0.7)), _row(1, (41e6, 0.8)), _row(2, (60e6, 0.85)), _row(3, (45e6, 0.6))]
    front = StudyFront.of(summary, rows)
    assert [m.number for m in front.members] == [0, 1, 2], "cheapest first; 3 is dominated"
    assert [m.proxy_accuracy for m in front.members] == [0.7, 0.8, 0.85]
    assert [m.number for m in front.most_accurate_first()] == [2, 1, 0]
    assert front.knee is not None and front.knee.number == 1


def test_names_from_the_stored_config_else_positions() -> None:
    rows = [_row(0, (0.7, 40e6, 9.0)), _row(1, (0.8, 41e6, 1.0))]
    config = {"config": {"objectives": {"extra": ["params"]}}}
    front = StudyFront.of(
        _summary(None, ("maximize", "minimize", "minimize")), rows, study_attrs=config
    )
    assert front.metric_names == ("val_accuracy", "macs", "params")
    unnamed = StudyFront.of(_summary(None, ("maximize", "minimize")), [_row(0, (0.7, 40e6))])
    assert unnamed.metric_names == ("objective_0", "objective_1") and unnamed.accuracy_column == 0


def test_a_study_without_macs_is_refused() -> None:
    with pytest.raises(ValueError, match=r"objectives val_accuracy, params; a front needs"):
        StudyFront.of(_summary(("val_accuracy", "params"), ("maximize", "minimize")), [])


def test_reused_and_equivalent_trials_are_listed_once() -> None:
    summary = _summary(("val_accuracy", "macs"), ("maximize", "minimize"))
    rows = [
        _row(0, (0.8, 40e6)),
        _row(1, (0.8, 40e6), reused_from=0),
        TrialRow(2, "COMPLETE", (0.8, 40e6), {"spec_id": "id0"}),
        _row(3, (0.9, 50e6)),
    ]
    assert [m.number for m in StudyFront.of(summary, rows).members] == [0, 3]


def test_confirmed_accuracy_ranks_the_front_when_present() -> None:
    summary = _summary(("val_accuracy", "macs"), ("maximize", "minimize"))
    rows = [
        _row(0, (0.70, 40e6)),
        _row(1, (0.78, 40.2e6)),
        _row(2, (0.84, 44e6)),
        _row(3, (0.86, 60e6)),
    ]
    attrs = {f"confirmed:{n}": {"val_accuracy": a} for n, a in enumerate((0.70, 0.85, 0.86, 0.87))}
    front = StudyFront.of(summary, rows, study_attrs=attrs)
    assert front.ranked_by == "confirmed"
    assert [m.confirmed_accuracy for m in front.members] == [0.70, 0.85, 0.86, 0.87]
    assert front.knee is not None and front.knee.number == 1
    proxy = StudyFront.of(summary, rows, study_attrs=attrs, rank_by="proxy")
    assert proxy.ranked_by == "proxy" and proxy.knee is not None and proxy.knee.number == 2
    partial = StudyFront.of(summary, rows[1:3])
    with pytest.raises(ValueError, match="no front member has a confirmed accuracy yet"):
        StudyFront.of(summary, rows[1:3], rank_by="confirmed")
    assert partial.ranked_by == "proxy"
