"""Pick the trial to export from a study's Pareto front (:class:`nas.results.front.StudyFront`).

Five ways, all among the members of the front: ``--trial N`` (that trial, refused when it is
not on the front; a trial that reused a member's result is that member's architecture),
``--knee`` and ``--best`` (below), ``--max-macs X`` (the most accurate member within a MACs
budget) and ``--min-accuracy A`` (the cheapest member reaching an accuracy floor). Accuracy is
the one the front is ranked by: confirmed where the front has confirmed members, else the
proxy's.

``--knee`` and ``--best`` choose within noise, by the one-standard-error rule
(:func:`nas.results.noisy_front.one_se_choice`; Breiman et al., CART 1984; glmnet's
``lambda.1se``): the means give an anchor (the front's knee, or its most accurate member), and
among the members whose accuracy lies within one standard error of the difference from it, the
one with the fewest MACs is taken, since a difference the study cannot resolve is no reason to
pay for more MACs. One standard error, not the 1.96 that marks members ``tied with`` each other
in ``nas pareto`` (docs/noise.md states the one rule): the output says "within 1 SE", and names
the cheaper members the table ties with the anchor that lie beyond one SE. :class:`Picked`
carries the members within one SE and why this one won, for the command's output and the
module's docstring. Without measured noise only equal means tie,
so the anchor itself is taken, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from nas.results.front import StudyFront
from nas.results.front_noise import Z
from nas.results.member import FrontMember
from nas.results.noisy_front import Member, most_accurate, one_se_choice
from storage.queries import TrialRow

ONE_SE = 1.0
"""Standard errors of the difference within which ``--knee``/``--best`` take the cheaper member."""


@dataclass(frozen=True)
class Selection:
    """How to choose: exactly one of the fields is set (``knee`` True counts as set)."""

    trial: int | None = None
    knee: bool = False
    max_macs: float | None = None
    min_accuracy: float | None = None
    best: bool = False

    def __post_init__(self) -> None:
        chosen = [self.trial is not None, self.knee, self.max_macs is not None]
        chosen += [self.min_accuracy is not None, self.best]
        assert sum(chosen) == 1, "choose exactly one of trial, knee, max_macs, min_accuracy, best"


@dataclass(frozen=True)
class Picked:
    """The chosen member and, for ``--knee``/``--best``, why (``None`` for the other ways)."""

    member: FrontMember
    reason: str | None = None
    tied: tuple[int, ...] = ()
    """Trial numbers within one SE of the difference from the anchor, other than the chosen one
    (fewer than the anchor's ``tied_with``, which is at 1.96 SE)."""


def describe(front: StudyFront, members: list[FrontMember] | None = None, limit: int = 12) -> str:
    """``trial 3 (acc 0.912, 40.1M MACs), ...`` for messages."""
    shown = members if members is not None else front.members
    text = ", ".join(
        f"trial {m.number} ({front.ranked_label} {_value(m, front.ranked_by)}, "
        f"{m.macs / 1e6:.1f}M MACs)"
        for m in shown[:limit]
    )
    more = len(shown) - limit
    return text + (f" and {more} more" if more > 0 else "")


def _value(member: FrontMember, ranked_by: str) -> str:
    """``0.795 ± 0.006`` where the value carries noise, else the bare mean (its digits:
    :meth:`~nas.results.uncertainty.Estimate.decimals`)."""
    return member.estimate(ranked_by).text()


def choose(front: StudyFront, how: Selection, given: TrialRow | None = None) -> FrontMember:
    """The member ``how`` picks (:func:`pick` without the reason)."""
    return pick(front, how, given).member


def pick(front: StudyFront, how: Selection, given: TrialRow | None = None) -> Picked:
    """The member ``how`` picks and why; ``ValueError`` naming the front trials when there is none.

    ``given`` is the stored row of ``how.trial`` (``None`` when the study has no such trial).
    """
    if front.members and (how.knee or how.best):
        knee = front.knee
        assert knee is not None, "a non-empty front has a knee"
        return _within_one_se(front, knee, "the knee") if how.knee else _best(front)
    return Picked(_pick(front, how, given))


def _best(front: StudyFront) -> Picked:
    members = {m.number: m for m in front.ranked}
    top = most_accurate(
        [Member(str(n), m.estimate(front.ranked_by), m.macs) for n, m in members.items()]
    )
    return _within_one_se(front, members[int(top.name)], "the most accurate member")


def _within_one_se(front: StudyFront, anchor: FrontMember, what: str) -> Picked:
    """The one-standard-error choice around ``anchor`` among the ranked members, explained."""
    ranked = front.ranked
    pool = [Member(f"trial {m.number}", m.estimate(front.ranked_by), m.macs) for m in ranked]
    by_name = {p.name: m for p, m in zip(pool, ranked, strict=True)}
    start = next(p for p in pool if p.name == f"trial {anchor.number}")
    choice = one_se_choice(pool, start, ONE_SE)
    chosen = by_name[choice.chosen.name]
    tied = tuple(by_name[p.name].number for p in choice.tied if p is not choice.chosen)
    if not front.measured:
        reason = (
            f"trial {chosen.number} is {what} of the means; the study's values carry no "
            "measured noise, so the one-standard-error rule is not applied"
        )
    else:
        reason = f"one-standard-error rule around {what} (trial {anchor.number}): {choice.reason}"
        reason += _beyond_one_se(front, anchor, chosen, {chosen.number, *tied})
    return Picked(chosen, reason, tied)


def _beyond_one_se(
    front: StudyFront, anchor: FrontMember, chosen: FrontMember, within: set[int]
) -> str:
    """``; not taken: trial 0 (31.0M MACs), tied with trial 1 in nas pareto (1.96 SE) but not
    within 1 SE``: the cheaper members the table ties with the anchor that the rule left out,
    so the choice does not read as contradicting the table; empty when there are none."""
    members = {m.number: m for m in front.ranked}
    left = [
        members[n]
        for n in anchor.tied_with
        if n in members and n not in within and members[n].macs < chosen.macs
    ]
    if not left:
        return ""
    names = ", ".join(f"trial {m.number} ({m.macs / 1e6:.1f}M MACs)" for m in left)
    return (
        f"; not taken: {names}, tied with trial {anchor.number} in nas pareto "
        f"({Z:g} SE) but not within {ONE_SE:g} SE"
    )


def _pick(front: StudyFront, how: Selection, given: TrialRow | None) -> FrontMember:
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
            f"({_value(best, accuracy)})"
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
