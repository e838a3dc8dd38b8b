"""The accuracy/MACs figure of a study: every COMPLETE trial, the Pareto front, the references.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend switch), so it
works headless and inside processes that have already imported pyplot with another backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PlotPoint:
    """One COMPLETE trial on the figure."""

    number: int
    macs: float
    accuracy: float
    on_front: bool
    reference: str | None = None


def plot_front(points: Sequence[PlotPoint], path: Path, title: str) -> None:
    """Write the figure to ``path`` (format from its suffix, e.g. ``front.png``).

    Grey dots are all trials; the front is highlighted and joined as a step line (``steps-post``:
    for MACs between two front points the best attainable accuracy is the cheaper point's);
    reference designs are labelled by name. The x axis turns logarithmic when MACs span more
    than 50x.
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
    if mmacs and min(mmacs) > 0 and max(mmacs) / min(mmacs) > 50:
        axes.set_xscale("log")
    axes.set_xlabel("MACs (M)")
    axes.set_ylabel("validation accuracy")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
