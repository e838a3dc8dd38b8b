"""A whole ``nas search`` with and without Ray actor reuse, paired (run by hand).

    .venv/bin/python bench/actor_reuse.py [--pairs 3] [--trials 12] [--json out.json]

Each pair runs the same seeded search twice, as the CLI runs it (a fresh ``nas search``
process, its own local Ray, a new SQLite file): once with ``[resources] reuse_actors = true``
(the default: the next trial trains in the worker process the last one finished in) and once
with ``false`` (a fresh process per trial, Tune's own default), the order alternating pair by
pair so a drifting load favours neither. Reports the end-to-end wall time of each run, the
median per-trial wall time (trial start to end, as stored) and the median ratio of the pairs.
The proxy is the default one: 3 epochs on 2,000 / 1,000 Fashion-MNIST images at width 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = """
[search]
study = "reuse"
trials = {trials}
[resources]
reuse_actors = {reuse}
"""


def one_search(trials: int, reuse: bool) -> dict[str, Any]:
    """Run ``nas search`` in a fresh process; wall time and per-trial times from the study."""
    import optuna

    with tempfile.TemporaryDirectory(prefix="bench-reuse-") as folder:
        config = Path(folder) / "search.toml"
        config.write_text(CONFIG.format(trials=trials, reuse=str(reuse).lower()))
        url = f"sqlite:///{folder}/nas.db"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "nas", "search", str(config), "--storage", url],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        study = optuna.load_study(study_name="reuse", storage=url)
        trained = [t for t in study.trials if "reused_from" not in t.user_attrs]
        per_trial = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trained]
        values = sorted(tuple(t.values) for t in study.trials if t.values is not None)
    return {
        "reuse_actors": reuse,
        "wall_s": round(wall, 1),
        "median_trial_s": round(statistics.median(per_trial), 2),
        "trials_trained": len(trained),
        "values": values,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs, ratios = [], []
    for pair in range(args.pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        result = {reuse: one_search(args.trials, reuse) for reuse in order}
        same = result[True]["values"] == result[False]["values"]
        ratio = result[False]["wall_s"] / result[True]["wall_s"]
        ratios.append(ratio)
        for reuse in order:
            print(
                f"pair {pair}: reuse_actors={reuse!s:5}  {result[reuse]['wall_s']:6.1f} s  "
                f"median trial {result[reuse]['median_trial_s']:5.2f} s",
                flush=True,
            )
        print(f"pair {pair}: fresh/reused wall ratio {ratio:.2f}x, same results: {same}")
        runs.extend(result.values())
    print(f"median ratio over {args.pairs} pairs: {statistics.median(ratios):.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
