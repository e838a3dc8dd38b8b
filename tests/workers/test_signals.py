"""``workers.signals``: each ranking signal from a learning curve, higher is better."""

from __future__ import annotations

import pytest

from nas.config import SearchConfig
from workers.signals import SIGNALS, signal_key, signal_values

CURVE = [
    {"val_accuracy": 0.6, "val_loss": 1.1, "train_loss": 1.5},
    {"val_accuracy": 0.7, "val_loss": 0.9, "train_loss": 1.0},
    {"val_accuracy": 0.65, "val_loss": 0.95, "train_loss": 0.8},
]


def test_signals_of_a_curve() -> None:
    values = signal_values(CURVE)
    assert values == {
        "signal/best_val_accuracy": 0.7,
        "signal/last_val_accuracy": 0.65,
        "signal/neg_sotl": pytest.approx(-3.3),
        "signal/neg_sotl_e": -0.8,
    }
    assert set(values) == {signal_key(name) for name in SIGNALS}


def test_a_lower_training_loss_scores_higher() -> None:
    worse = [{**m, "train_loss": m["train_loss"] + 0.1} for m in CURVE]
    for name in ("neg_sotl", "neg_sotl_e"):
        assert SIGNALS[name].score(CURVE) > SIGNALS[name].score(worse)


def test_the_study_names_the_signal_it_optimises() -> None:
    assert SearchConfig().objectives.names[0] == "neg_sotl_e"
    accuracy = SearchConfig.from_dict({"objectives": {"signal": "best_val_accuracy"}})
    assert accuracy.objectives.names[0] == "val_accuracy"
    config = SearchConfig.from_dict({"objectives": {"signal": "neg_sotl", "extra": ["params"]}})
    assert config.objectives.names == ("neg_sotl", "macs", "params")
    with pytest.raises(ValueError, match=r"^objectives\.signal: 'loss' is not allowed"):
        SearchConfig.from_dict({"objectives": {"signal": "loss"}})
