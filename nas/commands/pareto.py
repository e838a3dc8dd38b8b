"""``nas pareto``: the non-dominated COMPLETE trials of a study, as a table, JSON or a figure.

Dominance is computed on the stored objective values over every objective of the study
(:func:`nas.frontier.pareto_mask`); accuracy and MACs are the objectives named ``val_accuracy``
and ``macs`` (objectives 0 and 1 when the study has no metric names), as docs/study-format.md
defines. Trials that reuse the result of an equivalent spec are listed once, under the lowest
trial number. A study with no COMPLETE trials yet has an empty front: that is reported and the
exit status is 0 (nothing is wrong, the search has not finished a trial).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from storage.queries import StudySummary, TrialRow

NAME = "pareto"
HELP = "the Pareto front of a study (accuracy vs MACs): table, --json or --plot front.png"
ORDER = 50

KEYS = ("spec_id", "macs", "params", "reference")
"""The user_attrs read for every trial (docs/study-format.md); ``spec``, the large one, is read
for the front members only."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default="attention-nas", help="study name")
    parser.add_argument("--storage", help="storage URL (default: $NAS_STORAGE or the SQLite file)")
    parser.add_argument("--json", action="store_true", help="print the front as JSON")
    parser.add_argument("--plot", metavar="FILE", help="also draw the front (e.g. front.png)")


@dataclass(frozen=True)
class FrontEntry:
    """One trial on the front, in the units the table and JSON show."""

    row: TrialRow
    accuracy: float
    macs: float
    knee: bool

    def stages(self) -> list[str]:
        return stage_labels(self.row.spec)

    def to_dict(self, metric_names: Sequence[str]) -> dict[str, Any]:
        assert self.row.values is not None
        return {
            "trial": self.row.number,
            "accuracy": self.accuracy,
            "macs": int(self.macs),
            "params": self.row.params,
            "stages": self.stages(),
            "reference": self.row.reference,
            "knee": self.knee,
            "spec_id": self.row.spec_id,
            "values": dict(zip(metric_names, self.row.values, strict=True)),
            "spec": self.row.spec,
        }


def stage_labels(spec: Any) -> list[str]:
    """``StageSpec.label()`` per stage; the raw stage dicts if the spec no longer validates."""
    from searchspace.spec import ArchSpec

    if not isinstance(spec, dict):
        return []
    try:
        return [stage.label() for stage in ArchSpec.from_dict(spec).stages]
    except (ValueError, KeyError):
        return [json.dumps(stage, sort_keys=True) for stage in spec.get("stages", [])]


def objective_columns(summary: StudySummary) -> tuple[int, int]:
    """Indices of the accuracy and MACs objectives (by metric name, else 0 and 1)."""
    names = list(summary.metric_names or [])
    accuracy = names.index("val_accuracy") if "val_accuracy" in names else 0
    macs = names.index("macs") if "macs" in names else 1
    if len(summary.directions) < 2 or max(accuracy, macs) >= len(summary.directions):
        raise ValueError(
            f"study {summary.name!r} has {len(summary.directions)} objective(s); "
            "nas pareto needs accuracy and MACs (docs/study-format.md)"
        )
    return accuracy, macs


def compute_front(
    summary: StudySummary, rows: Sequence[TrialRow]
) -> tuple[list[TrialRow], list[FrontEntry]]:
    """The COMPLETE rows, and the front entries sorted by MACs (knee marked)."""
    import numpy as np

    from nas.frontier import knee_index, pareto_mask

    accuracy, macs = objective_columns(summary)
    width = len(summary.directions)
    complete = [r for r in rows if r.state == "COMPLETE" and r.values and len(r.values) == width]
    if not complete:
        return [], []
    values = np.array([r.values for r in complete], dtype=float)
    mask = pareto_mask(values, summary.directions)
    members, seen = [], set()
    for row in sorted((r for r, on in zip(complete, mask, strict=True) if on), key=_number):
        if row.spec_id is None or row.spec_id not in seen:
            members.append(row)
            seen.add(row.spec_id)
    pair = np.array([[_value(m, accuracy), _value(m, macs)] for m in members], dtype=float)
    directions = [summary.directions[accuracy], summary.directions[macs]]
    knee = members[knee_index(pair, directions)].number
    entries = [
        FrontEntry(m, float(p[0]), float(p[1]), m.number == knee)
        for m, p in zip(members, pair, strict=True)
    ]
    return complete, sorted(entries, key=lambda e: (e.macs, -e.accuracy, e.row.number))


def with_specs(storage: BaseStorage, study: str, front: list[FrontEntry]) -> list[FrontEntry]:
    """``front`` with each row's ``spec`` user_attr added (one query for the members only)."""
    from dataclasses import replace

    from storage.queries import trial_table

    numbers = {e.row.number for e in front}
    specs = {r.number: r.spec for r in trial_table(storage, study, ["spec"], numbers)}
    entries = [
        replace(e, row=replace(e.row, user_attrs={**e.row.user_attrs, "spec": specs[e.row.number]}))
        for e in front
    ]
    return entries


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _number(row: TrialRow) -> int:
    return row.number


def _value(row: TrialRow, objective: int) -> float:
    assert row.values is not None, "only COMPLETE rows with values reach here"
    return float(row.values[objective])


def run(args: argparse.Namespace) -> int:
    from storage import default_storage_url, open_storage
    from storage.queries import study_summaries, trial_table

    url = args.storage or default_storage_url()
    storage = open_storage(url, create=False)
    rows = trial_table(storage, args.study, keys=KEYS)  # ValueError lists the studies
    summary = next(s for s in study_summaries(storage) if s.name == args.study)
    complete, front = compute_front(summary, rows)
    front = with_specs(storage, args.study, front)
    names = list(summary.metric_names or [f"objective_{i}" for i in range(len(summary.directions))])
    if args.json:
        print(json.dumps(_json(summary, complete, front, names)))
    elif front:
        print(
            f"study {summary.name!r}: {_count(len(front), 'trial')} on the front of "
            f"{len(complete)} COMPLETE ({summary.n_trials} in all); * marks the knee"
        )
        print(format_table(front))
    if not front:
        states = ", ".join(f"{n} {s}" for s, n in sorted(summary.counts.items())) or "no trials"
        print(
            f"study {summary.name!r} has no COMPLETE trials yet ({states}): the front is empty",
            file=sys.stderr,
        )
    if args.plot:
        _plot(args.plot, summary, complete, front)
    return 0


def _json(
    summary: StudySummary, complete: list[TrialRow], front: list[FrontEntry], names: list[str]
) -> dict[str, Any]:
    return {
        "study": summary.name,
        "directions": list(summary.directions),
        "metric_names": names,
        "n_trials": summary.n_trials,
        "n_complete": len(complete),
        "front": [entry.to_dict(names) for entry in front],
    }


def format_table(front: Sequence[FrontEntry]) -> str:
    """The front as aligned text columns, cheapest first."""
    header = ["trial", "accuracy", "MACs (M)", "params (M)", "stages", "reference"]
    rows = [
        [
            f"{e.row.number}{'*' if e.knee else ''}",
            f"{e.accuracy:.4f}",
            f"{e.macs / 1e6:,.2f}",
            "-" if e.row.params is None else f"{e.row.params / 1e6:,.3f}",
            " | ".join(e.stages()) or "-",
            e.row.reference or "",
        ]
        for e in front
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [c.rjust(w) if i < 4 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _plot(
    target: str, summary: StudySummary, complete: list[TrialRow], front: list[FrontEntry]
) -> None:
    from nas.plot import PlotPoint, plot_front

    if not complete:
        print(f"no figure written: nothing to draw in {target}", file=sys.stderr)
        return
    accuracy, macs = objective_columns(summary)
    on_front = {e.row.number for e in front}
    points = [
        PlotPoint(r.number, _value(r, macs), _value(r, accuracy), r.number in on_front, r.reference)
        for r in complete
    ]
    path = Path(target)
    title = f"{summary.name}: {len(front)} on the front of {len(complete)} trials"
    plot_front(points, path, title)
    print(f"wrote {path}", file=sys.stderr)
