"""How long the read-only ``nas`` commands take to start, against torch's import (by hand).

    nice -n 19 .venv/bin/python bench/cli_startup.py \\
        --nas before=/work/main/.venv/bin/nas --nas after=.venv/bin/nas [--repeats 5]

Each command runs in a fresh process, as a user runs it, ``--repeats`` times; the table gives
the median wall time, and its ratio to ``python -c "import torch"`` and to ``python -c pass``
(both timed in the same run with this interpreter), so a number from a loaded machine still
says how much of a command's start is torch. Runs are interleaved (every command once, then
again) so that load drifting during the run falls on all of them alike. Several ``--nas``
executables (``label=path``) compare trees: main's and a branch's. Nothing trains.
docs/performance.md, "CLI start-up", holds a run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = '{"backbone": "resnet20"}'
COMMANDS = (["--help"], ["pareto", "--help"], ["space"], ["cost", "{spec}"])
"""What a user runs all day; ``nas cost`` counts MACs on the meta device, so it needs torch."""


def _seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _cases(executables: list[tuple[str, str]], spec: Path) -> dict[str, list[str]]:
    """Every row of the table: its label and the command line it times."""
    cases = {
        "`python -c pass`": [sys.executable, "-c", "pass"],
        '`python -c "import torch"`': [sys.executable, "-c", "import torch"],
    }
    for label, nas in executables:
        for command in COMMANDS:
            argv = [part.format(spec=spec) for part in command]
            shown = " ".join("SPEC" if part == "{spec}" else part for part in command)
            cases[f"`nas {shown}` ({label})"] = [nas, *argv]
    return cases


def _table(medians: dict[str, float]) -> str:
    torch, bare = medians['`python -c "import torch"`'], medians["`python -c pass`"]
    lines = ["| command | median (s) | / import torch | / python -c pass |", "|---|---:|---:|---:|"]
    for name, seconds in medians.items():
        lines.append(f"| {name} | {seconds:.3f} | {seconds / torch:.2f} | {seconds / bare:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--nas",
        action="append",
        metavar="LABEL=PATH",
        help="a nas executable to time (repeatable; default: this venv's, labelled 'this')",
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    given = args.nas or [f"this={Path(sys.executable).parent / 'nas'}"]
    executables = [tuple(item.split("=", 1)) for item in given]
    if any(len(pair) != 2 for pair in executables):
        parser.error("--nas takes LABEL=PATH")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.json"
        spec.write_text(SPEC)
        cases = _cases([(label, path) for label, path in executables], spec)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, argv in cases.items():
                times[name].append(_seconds(argv))
    print(_table({name: statistics.median(runs) for name, runs in times.items()}))
    cpus = os.cpu_count()
    print(f"\n{cpus} CPUs, load average {load:.1f} before and {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
