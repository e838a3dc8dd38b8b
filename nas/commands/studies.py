"""``nas studies``: the studies in a storage and their trial counts by state."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.queries import StudySummary

NAME = "studies"
HELP = "list the studies in a storage with their trial counts by state"
ORDER = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.commands._io import add_storage_option

    add_storage_option(parser)
    parser.add_argument("--json", action="store_true", help="print the studies as JSON")


def run(args: argparse.Namespace) -> int:
    from nas.commands._io import open_cli_storage
    from storage import redact
    from storage.queries import STATES, study_summaries

    url, storage = open_cli_storage(args.storage, read_only=True)
    summaries = study_summaries(storage)
    if args.json:
        print(json.dumps({"storage": redact(url), "studies": [s.to_dict() for s in summaries]}))
        return 0
    if not summaries:
        print(f"no studies in {redact(url)}; `nas search` creates one")
        return 0
    print(_table(summaries, STATES))
    return 0


def _objectives(summary: StudySummary) -> str:
    names = summary.metric_names or tuple(f"objective {i}" for i in range(len(summary.directions)))
    arrows = {"maximize": "max", "minimize": "min"}
    return ", ".join(
        f"{n} ({arrows.get(d, d)})" for n, d in zip(names, summary.directions, strict=True)
    )


def _table(summaries: list[StudySummary], states: tuple[str, ...]) -> str:
    header = ["study", "trials", *states, "created", "objectives"]
    rows = [
        [
            s.name,
            str(s.n_trials),
            *(str(s.counts.get(state, 0)) for state in states),
            "-" if s.created is None else s.created.strftime("%Y-%m-%d %H:%M"),
            _objectives(s),
        ]
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = range(1, 2 + len(states))
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
