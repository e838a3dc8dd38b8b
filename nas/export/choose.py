"""Pick the trial to export from a study's Pareto front.

Four ways, all among the COMPLETE trials on the front (over every objective of the study):
``--trial N`` (that trial, refused when it is not on the front), ``--knee`` (the knee of the
accuracy/MACs front, :func:`nas.frontier.knee_index`), ``--max-macs X`` (the most accurate front
trial within a MACs budget) and ``--min-accuracy A`` (the cheapest front trial above an
accuracy floor). Accuracy and MACs are the objectives named ``val_accuracy`` and ``macs``
(objectives 0 and 1 when the study has no metric names), as docs/study-format.md defines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nas.frontier import knee_index, pareto_mask
from storage.queries import TrialRow


@dataclass(frozen=True)
class Selection:
    """How to choose: exactly one of the fields is set (``knee`` True counts as set)."""

    trial: int | None = None
    knee: bool = False
    max_macs: float | None = None
    min_accuracy: float | None = None

    def __post_init__(self) -> None:
        chosen = [self.trial is not None, self.knee, self.max_macs is not None]
        chosen.append(self.min_accuracy is not None)
        assert sum(chosen) == 1, "choose exactly one of trial, knee, max_macs, min_accuracy"


@dataclass(frozen=True)
class Front:
    """The COMPLETE trials of a study and which of them are on the Pareto front."""

    study: str
    complete: list[TrialRow]
    on_front: np.ndarray
    accuracy: int
    macs: int
    directions: tuple[str, ...]

    @classmethod
    def of(
        cls,
        study: str,
        rows: Sequence[TrialRow],
        directions: Sequence[str],
        metric_names: Sequence[str] | None,
    ) -> Front:
        names = list(metric_names or [])
        accuracy = names.index("val_accuracy") if "val_accuracy" in names else 0
        macs = names.index("macs") if "macs" in names else 1
        if len(directions) < 2:
            raise ValueError(f"study {study!r} has one objective; export needs accuracy and MACs")
        complete = [
            r
            for r in rows
            if r.state == "COMPLETE" and r.values is not None and len(r.values) == len(directions)
        ]
        if not complete:
            raise ValueError(f"study {study!r} has no COMPLETE trials yet; run `nas search` first")
        values = np.array([r.values for r in complete], dtype=float)
        mask = pareto_mask(values, list(directions))
        return cls(study, complete, mask, accuracy, macs, tuple(directions))

    @property
    def members(self) -> list[TrialRow]:
        """Front trials, cheapest first."""
        rows = [r for r, on in zip(self.complete, self.on_front, strict=True) if on]
        return sorted(rows, key=lambda r: (self.macs_of(r), r.number))

    def accuracy_of(self, row: TrialRow) -> float:
        assert row.values is not None
        return float(row.values[self.accuracy])

    def macs_of(self, row: TrialRow) -> float:
        assert row.values is not None
        return float(row.values[self.macs])

    def describe(self, limit: int = 12) -> str:
        """``trial 3 (acc 0.912, 40.1M MACs), ...`` for messages."""
        shown = [
            f"trial {r.number} (acc {self.accuracy_of(r):.3f}, {self.macs_of(r) / 1e6:.1f}M MACs)"
            for r in self.members[:limit]
        ]
        more = len(self.members) - limit
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def choose(front: Front, how: Selection, rows: Sequence[TrialRow]) -> TrialRow:
    """The trial ``how`` picks; ``ValueError`` naming the front trials when there is none."""
    members = front.members
    if how.trial is not None:
        return _given(front, how.trial, rows)
    if how.knee:
        columns = [front.accuracy, front.macs]
        values = np.array([[front.accuracy_of(r), front.macs_of(r)] for r in members])
        return members[knee_index(values, [front.directions[c] for c in columns])]
    if how.max_macs is not None:
        budget = how.max_macs
        within = [r for r in members if front.macs_of(r) <= budget]
        if not within:
            raise ValueError(
                f"no front trial has MACs <= {budget:,.0f}; the cheapest is {front.describe(1)}"
            )
        return max(within, key=lambda r: (front.accuracy_of(r), -front.macs_of(r)))
    assert how.min_accuracy is not None
    floor = how.min_accuracy
    above = [r for r in members if front.accuracy_of(r) >= floor]
    if not above:
        best = max(members, key=front.accuracy_of)
        raise ValueError(
            f"no front trial reaches accuracy {floor}; the best is trial {best.number} "
            f"({front.accuracy_of(best):.4f})"
        )
    return min(above, key=lambda r: (front.macs_of(r), -front.accuracy_of(r)))


def _given(front: Front, number: int, rows: Sequence[TrialRow]) -> TrialRow:
    found = [r for r in rows if r.number == number]
    where = f"study {front.study!r}"
    if not found:
        raise ValueError(f"{where} has no trial {number}; front trials: {front.describe()}")
    row = found[0]
    if row.state != "COMPLETE":
        reason = f" ({row.fail_reason})" if row.fail_reason else ""
        raise ValueError(
            f"trial {number} is {row.state}{reason}, not a COMPLETE trial on the Pareto front; "
            f"front trials: {front.describe()}"
        )
    if number not in {r.number for r in front.members}:
        raise ValueError(
            f"trial {number} is not on the Pareto front of {where} (another trial is as "
            f"accurate and cheaper); front trials: {front.describe()}"
        )
    return row
