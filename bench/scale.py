"""A 10,000-trial study built from a real one, and the time every reader takes on it (by hand).

    .venv/bin/python bench/scale.py --source nas-results/nas.db --study attention-nas \\
        --out /tmp/scale [--trials 10000] [--json out.json]

The source is a study a real ``nas search`` wrote (a tiny one is enough: docs/performance.md
says which). Its finished trials are copied round-robin into ``OUT/scale.db`` with Optuna's
public API (``optuna.trial.create_trial`` + ``Study.add_trials``): parameters with their
distributions, values, intermediate values, user and system attributes, the study's user
attributes and metric names. Each copy's epochs (validation accuracies) are shifted by a seeded
offset of at most 0.02 and its score (value 0, ``neg_tail_loss`` by default) by a tenth of it, so
the front is a front and not thousands of ties.
Nothing trains. Building is resumable: a second run adds only the missing trials.

Then it times, each in a fresh process as a user runs it, ``nas pareto``, ``nas pareto
--json``, ``nas studies`` and ``nas export --knee`` (``--dashboard-only`` skips them), and the
study page of stock optuna-dashboard and of ``nas dashboard`` (each started as a user starts it,
on its own copy of the file): the HTTP calls the page makes, ``/api/studies`` and
``/api/studies/<id>`` (the first load right after the server answers, a second load, a load
after a trial finished, and the incremental ``?after=N`` poll), with the bytes each returns (as
sent, and decoded when the server compresses). Finally the SQLite file's size and what one
trial's rows hold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scale_dashboard import NAS, env, time_cold_page, time_dashboard


def build(source: str, study_name: str, target: Path, trials: int) -> str:
    """Copy ``study_name`` from ``source`` into ``target`` up to ``trials`` trials; its URL."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    src_url = source if "://" in source else f"sqlite:///{source}"
    src = optuna.load_study(study_name=study_name, storage=src_url)
    finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    real = [t for t in src.get_trials(deepcopy=False) if t.state in finished]
    if not real:
        raise ValueError(f"study {study_name!r} in {source} has no finished trial to copy")
    url = f"sqlite:///{target}"
    dst = optuna.create_study(
        study_name=study_name, storage=url, directions=src.directions, load_if_exists=True
    )
    if not dst.user_attrs:
        for key, value in src.user_attrs.items():
            dst.set_user_attr(key, value)
        if src.metric_names:
            dst.set_metric_names(src.metric_names)
    have = len(dst.get_trials(deepcopy=False))
    rng = random.Random(have)
    started = time.perf_counter()
    while have < trials:
        batch = []
        for k in range(have, min(have + 500, trials)):
            t = real[k % len(real)]
            shift = rng.uniform(-0.02, 0.02)
            values = None if t.values is None else [t.values[0] + shift / 10, *t.values[1:]]
            batch.append(
                create_trial(
                    state=t.state,
                    values=values,
                    params=t.params,
                    distributions=t.distributions,
                    user_attrs=t.user_attrs,
                    system_attrs=t.system_attrs,
                    intermediate_values={
                        s: min(1.0, max(0.0, v + shift)) for s, v in t.intermediate_values.items()
                    },
                )
            )
        dst.add_trials(batch)
        have += len(batch)
        print(f"built {have}/{trials} trials ({time.perf_counter() - started:.0f} s)", flush=True)
    return url


def time_cli(args: list[str], cwd: str) -> dict[str, Any]:
    """Wall time and stdout bytes of one ``nas`` command in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(
        [*NAS, *args], cwd=cwd, env=env(), capture_output=True, check=False, timeout=600
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr.decode()[-2000:], file=sys.stderr)
    return {"rc": done.returncode, "s": round(wall, 2), "bytes": len(done.stdout)}


def trial_rows(path: Path) -> dict[str, Any]:
    """The file's size and the bytes one trial's rows hold (its JSON and text columns)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (n,) = con.execute("SELECT count(*) FROM trials").fetchone()
        tid = con.execute("SELECT max(trial_id) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
        parts = {
            "params": "SELECT count(*), sum(length(param_name) + length(distribution_json) + 8)"
            " FROM trial_params WHERE trial_id = ?",
            "distribution_json": "SELECT count(*), sum(length(distribution_json))"
            " FROM trial_params WHERE trial_id = ?",
            "user_attrs": "SELECT count(*), sum(length(key) + length(value_json))"
            " FROM trial_user_attributes WHERE trial_id = ?",
            "system_attrs": "SELECT count(*), sum(length(key) + length(value_json))"
            " FROM trial_system_attributes WHERE trial_id = ?",
            "intermediate_values": "SELECT count(*), count(*) * 24"
            " FROM trial_intermediate_values WHERE trial_id = ?",
        }
        rows = {k: con.execute(q, (tid,)).fetchone() for k, q in parts.items()}
    finally:
        con.close()
    size = path.stat().st_size
    return {
        "file_bytes": size,
        "trials": n,
        "bytes_per_trial": round(size / max(n, 1)),
        "one_trial": {k: {"rows": r[0], "bytes": r[1] or 0} for k, r in rows.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, help="the real study's storage (URL or .db)")
    parser.add_argument("--study", default="attention-nas", help="the study to copy")
    parser.add_argument("--out", required=True, help="folder for scale.db (kept: resumable)")
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--dashboard-only", action="store_true", help="time the study page, not the CLI readers"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    url = build(args.source, args.study, out / "scale.db", args.trials)
    result: dict[str, Any] = {"trials": args.trials, "versions": _versions()}
    study = ["--study", args.study, "--storage", url]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as cwd:
        if not args.dashboard_only:
            result["nas pareto"] = time_cli(["pareto", *study], cwd)
            result["nas pareto --json"] = time_cli(["pareto", "--json", *study], cwd)
            result["nas studies"] = time_cli(["studies", "--storage", url], cwd)
            knee = ["export", "--knee", "-o", f"{cwd}/model.py", *study]
            result["nas export --knee"] = time_cli(knee, cwd)
        db = out / "scale.db"
        result["stock optuna-dashboard"] = time_dashboard(db, args.study, cwd, stock=True)
        result["nas dashboard"] = time_dashboard(db, args.study, cwd, stock=False)
        study_id = result["nas dashboard"]["study_id"]
        result["nas dashboard, cold page"] = time_cold_page(db, study_id, cwd)
    result["sqlite"] = trial_rows(out / "scale.db")
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


def _versions() -> dict[str, str]:
    import optuna
    import optuna_dashboard

    return {
        "python": sys.version.split()[0],
        "optuna": optuna.__version__,
        "optuna_dashboard": optuna_dashboard.__version__,
        "sqlite": sqlite3.sqlite_version,
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


if __name__ == "__main__":
    raise SystemExit(main())
