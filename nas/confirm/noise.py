"""The confirmation's own noise, measured from its seed runs and stored as ``noise:confirm``.

Each confirmed member is trained at ``[confirm] seeds`` seeds on the same images, so the spread
of its runs is training noise at the confirmation budget. One member's two seeds estimate it
with one degree of freedom; pooled over every member confirmed at the same budget
(:func:`nas.results.noise_record.measure`, the within-group mean square) eight members give
eight. The record adds the exact binomial validation term from the budget's ``val_samples``
(docs/noise.md). A confirmation at one seed measures nothing and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from nas.confirm.store import Confirmation, confirmations
from nas.results.front_noise import ConfirmedRuns, confirmed_estimate
from nas.results.noise_record import NoiseRecord, measure, records, save
from nas.results.uncertainty import Estimate

UNMEASURED = (
    "confirm noise: not measured (one run per member; [confirm] seeds = 2 or more measures it)"
)


def measure_confirm_noise(study: optuna.Study, budget: Mapping[str, Any]) -> NoiseRecord | None:
    """Pool the seed runs of every member confirmed at ``budget`` and store the record.

    ``None`` (and nothing stored) when no member has two runs at that budget.
    """
    groups = [
        c.accuracies
        for c in confirmations(study).values()
        if c.budget == dict(budget) and len(c.accuracies) >= 2
    ]
    if not groups:
        return None
    images = budget.get("val_samples")
    record = measure(
        groups,
        metric="val_accuracy",
        val_images=images if isinstance(images, int) else None,
        budget=budget,
    )
    save(study, "confirm", record)
    return record


def estimate_of(study: optuna.Study, confirmation: Confirmation) -> Estimate:
    """A confirmation's mean with its standard error, as ``nas pareto`` reads it."""
    runs = ConfirmedRuns(confirmation.accuracies, confirmation.budget)
    return confirmed_estimate(runs, records(study.user_attrs))
