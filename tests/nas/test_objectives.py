"""``nas.objectives``: the one order of a study's objectives, written and read back."""

from __future__ import annotations

import pytest

from nas.config import SearchConfig
from nas.objectives import MACS_COLUMN, SCORE_COLUMN, ObjectiveVector, columns
from workers.signals import SIGNALS


def test_the_vector_writes_score_macs_then_extra() -> None:
    vector = ObjectiveVector.for_signal("neg_sotl", ["latency_ms", "params"])
    assert vector.names == ("neg_sotl", "macs", "latency_ms", "params")
    assert vector.directions == ("maximize", "minimize", "minimize", "minimize")
    assert vector.measured == ("macs", "latency_ms", "params")
    measured = {"params": 3.0, "macs": 2.0, "latency_ms": 4.0, "unused": 9.0}
    assert vector.values(1.0, measured) == [1.0, 2.0, 4.0, 3.0]


def test_the_config_names_its_study_through_the_vector() -> None:
    config = SearchConfig.from_dict({"objectives": {"signal": "best_val_accuracy"}})
    assert config.objectives.names == ("val_accuracy", "macs")
    assert config.objectives.directions == ("maximize", "minimize")
    assert config.objectives.vector == ObjectiveVector("val_accuracy")


@pytest.mark.parametrize("signal", sorted(SIGNALS))
def test_columns_read_back_what_the_vector_wrote(signal: str) -> None:
    names = ObjectiveVector.for_signal(signal, ["params"]).names
    assert columns(names) == (SCORE_COLUMN, MACS_COLUMN)


def test_columns_are_found_by_name_and_missing_ones_are_none() -> None:
    assert columns(("params", "macs", "neg_tail_loss")) == (2, 1)
    assert columns(("objective_0", "objective_1")) == (SCORE_COLUMN, MACS_COLUMN)
    assert columns(("val_accuracy", "params")) is None
    assert columns(("params", "macs")) is None
