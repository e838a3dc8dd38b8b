"""Pick the trial to export from a study's Pareto front (:class:`nas.results.front.StudyFront`).

Four ways, all among the members of the front: ``--trial N`` (that trial, refused when it is
not on the front; a trial that reused a member's result is that member's architecture),
``--knee`` (the front's knee), ``--max-macs X`` (the most accurate member within a MACs budget)
and ``--min-accuracy A`` (the cheapest member reaching an accuracy floor). Accuracy is the one
the front is ranked by: confirmed where the front has confirmed members, else the proxy's.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.results.front import StudyFront
from nas.results.member import FrontMember
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


def describe(front: StudyFront, members: list[FrontMember] | None = None, limit: int = 12) -> str:
    """``trial 3 (acc 0.912, 40.1M MACs), ...`` for messages."""
    shown = members if members is not None else front.members
    text = ", ".join(
        f"trial {m.number} ({front.ranked_label} {m.accuracy(front.ranked_by):.3f}, "
        f"{m.macs / 1e6:.1f}M MACs)"
        for m in shown[:limit]
    )
    more = len(shown) - limit
    return text + (f" and {more} more" if more > 0 else "")


def choose(front: StudyFront, how: Selection, given: TrialRow | None = None) -> FrontMember:
    """The member ``how`` picks; ``ValueError`` naming the front trials when there is none.

    ``given`` is the stored row of ``how.trial`` (``None`` when the study has no such trial).
    """
    if not front.members:
        raise ValueError(
            f"study {front.study!r} has no COMPLETE trials yet; run `nas search` first"
        )
    if how.trial is not None:
        return _given(front, how.trial, given)
    ranked, accuracy = front.ranked, front.ranked_by
    if how.knee:
        knee = front.knee
        assert knee is not None, "a non-empty front has a knee"
        return knee
    if how.max_macs is not None:
        budget = how.max_macs
        within = [m for m in ranked if m.macs <= budget]
        if not within:
            raise ValueError(
                f"no front trial has MACs <= {budget:,.0f}; the cheapest is "
                f"{describe(front, ranked, 1)}"
            )
        return max(within, key=lambda m: (m.accuracy(accuracy), -m.macs))
    assert how.min_accuracy is not None
    if not front.ranks_accuracy:
        raise ValueError(
            f"--min-accuracy: study {front.study!r} has no confirmed accuracy and its proxy "
            f"scores are {front.score_name}, not accuracies; run `nas confirm` first, or "
            "choose by --knee, --max-macs or --trial"
        )
    floor = how.min_accuracy
    above = [m for m in ranked if m.accuracy(accuracy) >= floor]
    if not above:
        best = max(ranked, key=lambda m: m.accuracy(accuracy))
        raise ValueError(
            f"no front trial reaches accuracy {floor}; the best is trial {best.number} "
            f"({best.accuracy(accuracy):.4f})"
        )
    return min(above, key=lambda m: (m.macs, -m.accuracy(accuracy)))


def _given(front: StudyFront, number: int, row: TrialRow | None) -> FrontMember:
    where = f"study {front.study!r}"
    if row is None:
        raise ValueError(f"{where} has no trial {number}; front trials: {describe(front)}")
    if row.state != "COMPLETE":
        reason = f" ({row.fail_reason})" if row.fail_reason else ""
        raise ValueError(
            f"trial {number} is {row.state}{reason}, not a COMPLETE trial on the Pareto front; "
            f"front trials: {describe(front)}"
        )
    for member in front.members:
        if member.number == number or (row.spec_id is not None and member.spec_id == row.spec_id):
            return member
    raise ValueError(
        f"trial {number} is not on the Pareto front of {where} (another trial is as "
        f"accurate and cheaper); front trials: {describe(front)}"
    )
