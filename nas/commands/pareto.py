"""``nas pareto``: the non-dominated COMPLETE trials of a study, as a table, JSON or a figure.

The front is :class:`nas.results.front.StudyFront` (the rules are there: members over every
objective, columns by metric name, reused results listed once, the knee, cheapest first), the
same front ``nas search`` prints at its end and ``nas export`` chooses from. A study with no
COMPLETE trials yet has an empty front: that is reported and the exit status is 0 (nothing is
wrong, the search has not finished a trial).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nas.results.front import StudyFront

NAME = "pareto"
HELP = "the Pareto front of a study (accuracy vs MACs): table, --json or --plot front.png"
ORDER = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.commands._io import add_storage_option, add_study_option

    add_study_option(parser)
    add_storage_option(parser)
    parser.add_argument("--json", action="store_true", help="print the front as JSON")
    parser.add_argument("--plot", metavar="FILE", help="also draw the front (e.g. front.png)")


def run(args: argparse.Namespace) -> int:
    from nas.commands._io import check_output, open_cli_storage
    from nas.results.front import StudyFront
    from nas.results.table import format_table, front_heading

    plot = check_output("--plot", args.plot) if args.plot else None
    _, storage = open_cli_storage(args.storage, read_only=True)
    front = StudyFront.load(storage, args.study)
    if args.json:
        print(json.dumps(front.to_json()))
    elif front.members:
        print(front_heading(front))
        print(format_table(front))
        if front.noise:
            print("\n".join(front.noise_lines()))
    if not front.members:
        counts = front.summary.counts
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"
        print(
            f"study {front.study!r} has no COMPLETE trials yet ({states}): the front is empty",
            file=sys.stderr,
        )
    if plot is not None:
        _plot(plot, front)
    return 0


def _plot(path: Path, front: StudyFront) -> None:
    from nas.results.plot import plot_front

    if not front.complete:
        print(f"no figure written: nothing to draw in {path}", file=sys.stderr)
        return
    plot_front(front, path)
    print(f"wrote {path}", file=sys.stderr)
