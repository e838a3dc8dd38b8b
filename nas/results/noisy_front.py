"""The front of a study whose accuracies are estimates: dominance, ties, a choice within noise.

Optuna, Ray Tune and NNI treat every objective value as exact, so a member with no more MACs
that one run puts 0.2 points ahead dominates the other, even where the standard error of that
difference is four times larger. Here accuracy (maximised) carries an
:class:`~nas.results.uncertainty.Estimate` and MACs (minimised) are exact, since the cost model is
deterministic:

- a member is **dominated** only when another member with no more MACs is more accurate by more
  than ``z`` standard errors of the difference (:func:`dominates`);
- the **noise-aware front** keeps every member not dominated in that sense, which is the front
  of the means plus the members that could belong to it. It is the frequentist counterpart of
  what BoTorch's qNEHVI (Daulton et al., NeurIPS 2021) does by integrating over the uncertain
  Pareto front instead of trusting its noisy means; these are the candidates worth confirming;
- two members are **tied** when their accuracies differ by no more than ``z`` standard errors
  of the difference. A tie is not a verdict of equality: it says this budget cannot tell them
  apart, and the members it names are the ones more seeds would settle (SMAC3's intensification,
  Lindauer et al., JMLR 2022, races a challenger against the incumbent on doubling sets of seeds
  before it may replace it). Ties are not transitive, so each member has its own tie group;
  they are not equivalence classes.

A study without measured noise (``se`` ``None``) falls back to exact Pareto dominance, and only
equal means tie: an older study opens with the front it always had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nas.results.uncertainty import Estimate, difference, tied


@dataclass(frozen=True)
class Member:
    """One front candidate: its ``name``, its accuracy estimate and its exact MACs."""

    name: str
    accuracy: Estimate
    macs: float


@dataclass(frozen=True)
class NoisyFront:
    """The members not dominated beyond noise, by MACs, and who is tied with whom.

    ``ties[name]`` lists the other front members within noise of ``name``, in front order.
    """

    members: tuple[Member, ...]
    ties: dict[str, tuple[str, ...]]
    z: float


@dataclass(frozen=True)
class Choice:
    """The one-standard-error choice: ``chosen``, the ``anchor`` it replaced, and ``tied``, the
    pool it was chosen from: the anchor and the members within ``z`` (1) standard errors of the
    difference from it. That is a narrower pool than the front's ties at 1.96 SE
    (``NoisyFront.ties``, ``tied with`` in ``nas pareto``), and ``reason`` says "within 1 SE",
    never "tied", so the two cannot be read as one."""

    chosen: Member
    anchor: Member
    tied: tuple[Member, ...]
    reason: str


def dominates(b: Member, a: Member, z: float = 1.96) -> bool:
    """Whether ``b`` dominates ``a``: no more MACs, and more accurate beyond ``z`` SEs.

    Without measured noise on either side this is plain Pareto dominance (no worse in both,
    better in one), the behaviour of a study that has none.
    """
    if b is a or b.macs > a.macs:
        return False
    gap = difference(b.accuracy, a.accuracy)
    if gap.se is None:
        return gap.mean > 0 or (gap.mean == 0 and b.macs < a.macs)
    return gap.mean > z * gap.se


def noisy_front(members: Sequence[Member], z: float = 1.96) -> NoisyFront:
    """The members no other member dominates beyond noise, by MACs, with their tie groups."""
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError("front members need distinct names")
    kept = [a for a in members if not any(dominates(b, a, z) for b in members)]
    kept.sort(key=lambda m: (m.macs, -m.accuracy.mean))
    ties = {
        a.name: tuple(b.name for b in kept if b is not a and tied(a.accuracy, b.accuracy, z))
        for a in kept
    }
    return NoisyFront(tuple(kept), ties, z)


def most_accurate(members: Sequence[Member]) -> Member:
    """The member with the highest mean accuracy (the fewest MACs among equal means)."""
    if not members:
        raise ValueError("no members to choose from")
    return max(members, key=lambda m: (m.accuracy.mean, -m.macs))


def one_se_choice(members: Sequence[Member], anchor: Member, z: float = 1.0) -> Choice:
    """Among the members within ``z`` standard errors of ``anchor``, the one with the fewest MACs.

    The one-standard-error rule: Breiman, Friedman, Olshen and Stone (Classification and
    Regression Trees, 1984) prune a tree to the smallest one whose error lies within one
    standard error of the best's, and glmnet's ``lambda.1se`` picks the most regularised model
    within one standard error of the minimum cross-validated error. Where a difference is not
    resolved, the cheaper model is the better bet. ``anchor`` is what would be chosen from the
    means (the most accurate member for ``--best``, the knee for ``--knee``). Both rules use
    the best model's own standard error, since cross-validation folds are shared and the
    difference's is not at hand; here both members carry one, so the distance is measured in
    standard errors of the difference, the quantity that says whether they can be told apart.
    ``z`` is 1, not the 1.96 of :func:`noisy_front`'s ties: a member tied with the anchor may
    lie outside the pool, and the reason says "within 1 SE" so as not to read as a tie.
    Equal MACs go to the higher mean.
    """
    if anchor not in members:
        raise ValueError(f"the anchor {anchor.name!r} is not among the members")
    pool = [m for m in members if m is anchor or tied(m.accuracy, anchor.accuracy, z)]
    chosen = min(pool, key=lambda m: (m.macs, -m.accuracy.mean))
    others = ", ".join(m.name for m in pool if m is not chosen) or "none"
    within = f"within {z:g} SE"  # of the difference; never "tied", the front's 1.96 SE word
    if chosen is anchor:
        reason = (
            f"{anchor.name} has the fewest MACs of itself and the members {within} of it "
            f"({within}: {others})"
        )
    else:
        reason = (
            f"{chosen.name} ({chosen.accuracy}, {chosen.macs / 1e6:.1f}M MACs) is {within} of "
            f"{anchor.name} ({anchor.accuracy}, {anchor.macs / 1e6:.1f}M MACs) and has the "
            f"fewest MACs of the members {within} of it (also {within}: {others})"
        )
    return Choice(chosen, anchor, tuple(pool), reason)
