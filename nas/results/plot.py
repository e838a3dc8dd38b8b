"""The score/MACs figure of a study: every COMPLETE trial, the Pareto front, the references.

The y axis is the proxy's score, the study's first objective, under its own name (validation
accuracy, or a training-loss signal such as ``neg_tail_loss``); a front member retrained longer
is labelled with its confirmed accuracy (``mean ± SE`` where it has one), and front members whose
score carries a standard error (a study that measured its noise) get ±1 SE error bars.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend switch), so it
works headless and inside processes that have already imported pyplot with another backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nas.results.front import ACCURACY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nas.results.front import StudyFront
    from nas.results.member import FrontMember


@dataclass(frozen=True)
class PlotPoint:
    """One COMPLETE trial on the figure."""

    number: int
    macs: float
    accuracy: float
    on_front: bool
    reference: str | None = None
    confirmed: float | None = None
    """The confirmed accuracy of a front member retrained longer (``nas confirm``)."""
    se: float | None = None
    """The standard error of ``accuracy`` (``None``: no measured noise)."""
    confirmed_text: str | None = None
    """The confirmed accuracy as labelled, ``0.795 ± 0.006`` or the bare mean to the digits its
    validation images support (default: three decimals)."""


def score_label(score_name: str) -> str:
    """The y axis label for a study whose first objective is called ``score_name``."""
    if score_name == ACCURACY:
        return "validation accuracy (proxy)"
    return f"{score_name} (proxy score, higher is better)"


def plot_front(front: StudyFront, path: Path) -> None:
    """Write the figure of ``front`` to ``path`` (format from its suffix, e.g. ``front.png``)."""
    figure = study_figure(front)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)


def study_figure(front: StudyFront) -> Figure:
    """:func:`front_figure` of a study's COMPLETE trials and front."""
    members = {m.number: m for m in front.members}
    points = [
        PlotPoint(
            r.number,
            front.macs_of(r),
            members[r.number].proxy_accuracy if r.number in members else front.accuracy_of(r),
            r.number in members,
            r.reference,
            members[r.number].confirmed_accuracy if r.number in members else None,
            members[r.number].estimate("proxy").se if r.number in members else None,
            _confirmed_text(members[r.number]) if r.number in members else None,
        )
        for r in front.complete
    ]
    title = f"{front.study}: {len(front.members)} on the front of {len(front.complete)} trials"
    return front_figure(points, title, front.score_name)


def _confirmed_text(member: FrontMember) -> str | None:
    found = member.confirmed_estimate
    return None if found is None else found.text()


def front_figure(points: Sequence[PlotPoint], title: str, score_name: str) -> Figure:
    """The figure: grey dots are all trials; the front is highlighted and joined as a step line
    (``steps-post``: for MACs between two front points the best attainable score is the cheaper
    point's); reference designs are labelled by name and confirmed members by their confirmed
    accuracy. The x axis turns logarithmic when MACs span more than 50x.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    mmacs = [p.macs / 1e6 for p in points]
    axes.scatter(mmacs, [p.accuracy for p in points], s=14, color="0.7", label="trials", zorder=1)
    front = sorted((p for p in points if p.on_front), key=lambda p: (p.macs, -p.accuracy))
    if front:
        xs, ys = [p.macs / 1e6 for p in front], [p.accuracy for p in front]
        axes.plot(xs, ys, drawstyle="steps-post", color="tab:blue", linewidth=1.5, zorder=2)
        axes.scatter(xs, ys, s=30, color="tab:blue", label="Pareto front", zorder=3)
        bars = [p for p in front if p.se is not None]
        if bars:
            axes.errorbar(
                [p.macs / 1e6 for p in bars],
                [p.accuracy for p in bars],
                yerr=[p.se or 0.0 for p in bars],
                fmt="none",
                ecolor="tab:blue",
                capsize=3,
                label="±1 SE",
                zorder=3,
            )
    references = [p for p in points if p.reference]
    if references:
        axes.scatter(
            [p.macs / 1e6 for p in references],
            [p.accuracy for p in references],
            s=60,
            marker="D",
            facecolors="none",
            edgecolors="tab:red",
            label="reference designs",
            zorder=4,
        )
        for p in references:
            axes.annotate(
                str(p.reference),
                (p.macs / 1e6, p.accuracy),
                xytext=(5, 5),
                textcoords="offset points",
                fontsize=8,
                color="tab:red",
            )
    for p in front:
        if p.confirmed is not None:
            axes.annotate(
                f"{p.confirmed_text or f'{p.confirmed:.3f}'} confirmed",
                (p.macs / 1e6, p.accuracy),
                xytext=(5, -12),
                textcoords="offset points",
                fontsize=8,
                color="tab:blue",
            )
    if mmacs and min(mmacs) > 0 and max(mmacs) / min(mmacs) > 50:
        axes.set_xscale("log")
    axes.set_xlabel("MACs (M)")
    axes.set_ylabel(score_label(score_name))
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return figure
