"""Ranking signals: what number a proxy run's learning curve is scored by.

A search ranks architectures by one number per proxy run, and that number is worth what its
rank correlation with longer training is worth (``docs/fidelity.md`` measures each signal
here). Every signal is computed from the per-epoch history ``[{"val_accuracy", "val_loss",
"train_loss", "train_loss_tail", ...}, ...]`` of the epochs so far, is higher-is-better, and
is reported after every epoch under ``signal/<name>`` (the pruner compares trials at the same
epoch by it) and in the final metrics (an epoch saved before ``train_loss_tail`` existed
scores NaN on ``neg_tail_loss``). This module imports no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from searchspace.registry import Registry

History = Sequence[Mapping[str, float]]


@dataclass(frozen=True)
class Signal:
    """One ranking signal.

    Attributes:
        metric_name: the study's metric name for objective 0 when this signal is searched.
        description: one line for docs and ``nas pareto``.
        score: the signal of a non-empty history (higher is better).
    """

    metric_name: str
    description: str
    score: Callable[[History], float]


SIGNALS: Registry[Signal] = Registry("signal")
"""Signal name -> definition; ``[objectives] signal`` picks one for a search. A new signal is
one ``SIGNALS.add(name, Signal(...))`` below."""

SIGNALS.add(
    "best_val_accuracy",
    Signal(
        "val_accuracy",
        "best validation accuracy over the epochs so far",
        lambda h: max(float(m["val_accuracy"]) for m in h),
    ),
)
SIGNALS.add(
    "last_val_accuracy",
    Signal(
        "last_val_accuracy",
        "validation accuracy after the last epoch",
        lambda h: float(h[-1]["val_accuracy"]),
    ),
)
SIGNALS.add(
    "neg_sotl",
    Signal(
        "neg_sotl",
        "minus the sum over epochs of the mean training loss (SoTL: Ru et al., 'Speedy "
        "Performance Estimation for Neural Architecture Search', NeurIPS 2021)",
        lambda h: -sum(float(m["train_loss"]) for m in h),
    ),
)
SIGNALS.add(
    "neg_sotl_e",
    Signal(
        "neg_sotl_e",
        "minus the mean training loss of the last epoch (SoTL-E, Ru et al. 2021)",
        lambda h: -float(h[-1]["train_loss"]),
    ),
)
SIGNALS.add(
    "neg_tail_loss",
    Signal(
        "neg_tail_loss",
        "minus the mean training loss of the last third of the last epoch's steps (SoTL-E "
        "without the warm-up and the epoch's first steps, which rank worst: docs/pruning.md)",
        lambda h: -float(h[-1].get("train_loss_tail", math.nan)),
    ),
)


PREFIX = "signal/"


def signal_key(name: str) -> str:
    """The metrics key a trainable reports signal ``name`` under."""
    assert name in SIGNALS, name
    return PREFIX + name


def signal_values(history: History) -> dict[str, float]:
    """Every signal of ``history`` (non-empty), keyed by :func:`signal_key`."""
    assert history, "no epoch trained yet"
    return {signal_key(name): s.score(history) for name, s in SIGNALS.items()}
