"""``workers.signals``: each ranking signal from a learning curve, higher is better."""

from __future__ import annotations

import math

import pytest

from nas.config import SearchConfig
from workers.signals import SIGNALS, signal_key, signal_values

CURVE = [
    {"val_accuracy": 0.6, "val_loss": 1.1, "train_loss": 1.5, "train_loss_tail": 1.2},
    {"val_accuracy": 0.7, "val_loss": 0.9, "train_loss": 1.0, "train_loss_tail": 0.9},
    {"val_accuracy": 0.65, "val_loss": 0.95, "train_loss": 0.8, "train_loss_tail": 0.7},
]


def test_signals_of_a_curve() -> None:
    values = signal_values(CURVE)
    assert values == {
        "signal/best_val_accuracy": 0.7,
        "signal/last_val_accuracy": 0.65,
        "signal/neg_sotl": pytest.approx(-3.3),
        "signal/neg_sotl_e": -0.8,
        "signal/neg_tail_loss": -0.7,
    }
    assert set(values) == {signal_key(name) for name in SIGNALS}


def test_an_epoch_saved_before_the_tail_loss_existed_scores_nan_on_it_alone() -> None:
    old = [{k: v for k, v in m.items() if k != "train_loss_tail"} for m in CURVE]
    values = signal_values(old)
    assert math.isnan(values["signal/neg_tail_loss"])
    assert values["signal/neg_sotl_e"] == -0.8


def test_a_lower_training_loss_scores_higher() -> None:
    worse = [{**m, "train_loss": m["train_loss"] + 0.1} for m in CURVE]
    worse = [{**m, "train_loss_tail": m["train_loss_tail"] + 0.1} for m in worse]
    for name in ("neg_sotl", "neg_sotl_e", "neg_tail_loss"):
        assert SIGNALS[name].score(CURVE) > SIGNALS[name].score(worse)


def test_the_study_names_the_signal_it_optimises() -> None:
    assert SearchConfig().objectives.names[0] == "neg_tail_loss"
    accuracy = SearchConfig.from_dict({"objectives": {"signal": "best_val_accuracy"}})
    assert accuracy.objectives.names[0] == "val_accuracy"
    config = SearchConfig.from_dict({"objectives": {"signal": "neg_sotl", "extra": ["params"]}})
    assert config.objectives.names == ("neg_sotl", "macs", "params")
    with pytest.raises(ValueError, match=r"^objectives\.signal: 'loss' is not allowed"):
        SearchConfig.from_dict({"objectives": {"signal": "loss"}})
