"""The confirmation's own noise, measured from its seed runs and stored as ``noise:confirm``.

Each confirmed member is trained at ``[confirm] seeds`` seeds on the same images, so the spread
of its runs is training noise at the confirmation budget. One member's two seeds estimate it
with one degree of freedom; pooled over every member confirmed at the same budget
(:func:`nas.results.noise_record.measure`, the within-group mean square) eight members give
eight. The record adds the exact binomial validation term from the budget's ``val_samples``
(docs/noise.md). A confirmation at one seed measures nothing and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import optuna

from nas.confirm.store import Confirmation, confirmations, estimate_of, write_note
from nas.results.noise_record import NoiseRecord, measure, save

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


def report_noise(
    study: optuna.Study,
    done: Sequence[Confirmation],
    budget: Mapping[str, Any],
    stream: TextIO | None,
) -> NoiseRecord | None:
    """Measure and store the confirmation's noise, say it on ``stream`` (``confirm noise: one
    run varies by ±X; differences under Y are not resolved ...``), and rewrite the dashboard
    notes of the members confirmed at ``budget`` as ``mean ± SE (n=seeds)``."""
    record = measure_confirm_noise(study, budget)
    if record is None:
        if stream is not None:
            print(UNMEASURED, file=stream)
        return None
    at = [c for c in done if c.budget == dict(budget)]
    runs = min((len(c.accuracies) for c in at), default=1)
    accuracy = sum(c.val_accuracy for c in at) / len(at) if at else None
    if stream is not None:
        print(record.summary("confirm", runs=runs, accuracy=accuracy), file=stream)
    for confirmation in at:
        write_note(study, confirmation, estimate_of(study, confirmation))
    return record
