"""Evidence for ``docs/noise.md`` (c): is the exported choice stable across searches?

Three default ``nas search`` runs that differ only in ``[proxy] seed`` (0, 1, 2 by default),
each into its own SQLite file under ``OUT``, each confirming its front at the default two
seeds. For each run the product's own ``--knee`` choice (:func:`nas.export.choose.pick`, the
one-standard-error rule) is read back with its confirmed estimate. Those estimates come from
different confirmation seeds (``[proxy] seed`` + 0, + 1), so the choices are then re-estimated
on common ground: every distinct chosen spec trained at the default confirmation budget at the
same ``--retrain-seeds`` seeds (0, 1, ...), with :func:`workers.one_run.train_once`, the run
``nas confirm`` itself sends to Ray. The choice is **stable** when each run's choice is tied
(:func:`nas.results.uncertainty.tied`, z = 1.96, validation sampling included) with the other
two runs' choices on those common seeds; the same spec chosen twice is tied by construction.

Resumable: a search whose ``OUT/search-S.json`` exists is not run again (``nas search`` itself
would continue an unfinished study to its budget), and retraining appends each run to
``OUT/retrain.jsonl`` and trains only what is missing. At most two training processes::

    .venv/bin/python bench/stability.py --out docs/stability-runs --markdown docs/stability-table.md

The wall time of each search is recorded too: seed 0 is the README's default search.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import combinations
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nas.results.uncertainty import Estimate, estimate, tied

STUDY = "stability"


def search(out: Path, seed: int) -> dict[str, Any]:
    """Run (or resume) the default search at ``[proxy] seed = seed``; its ``--knee`` choice."""
    record = out / f"search-{seed}.json"
    if record.exists():
        return dict(json.loads(record.read_text()))
    db = out / f"seed{seed}.db"
    config = out / f"seed{seed}.toml"
    config.write_text(
        f'[search]\nstudy = "{STUDY}"\nstorage = "sqlite:///{db.resolve()}"\n\n'
        f"[proxy]\nseed = {seed}\n"
    )
    started = time.perf_counter()
    with (out / f"search-{seed}.log").open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "nas", "search", str(config)], stdout=log, stderr=log
        )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"search at seed {seed} failed (rc {done.returncode}): see its log")
    chosen = {**knee_choice(f"sqlite:///{db.resolve()}"), "seed": seed, "wall_s": round(wall, 1)}
    record.write_text(json.dumps(chosen, indent=1))
    return chosen


def knee_choice(url: str) -> dict[str, Any]:
    """What ``nas export --knee`` takes from the study at ``url``, and why."""
    from nas.export.choose import Selection, pick
    from nas.results.front import StudyFront
    from storage import open_storage

    front = StudyFront.load(open_storage(url), STUDY)
    picked = pick(front, Selection(knee=True))
    member = picked.member
    found = member.estimate(front.ranked_by)
    return {
        "trial": member.number,
        "spec": member.spec,
        "spec_id": member.spec_id,
        "macs": member.macs,
        "ranked_by": front.ranked_by,
        "estimate": {"mean": found.mean, "se": found.se, "n": found.n, "df": found.df},
        "tied": list(picked.tied),
        "reason": picked.reason,
        "front": [m.number for m in front.members],
    }


def confirmation_budget() -> dict[str, Any]:
    """The default confirmation budget, as ``bench/noise.py`` trains it (seed left to us)."""
    from noise import budgets

    return budgets({})["confirm"]


def _train(spec: dict[str, Any], budget: dict[str, Any]) -> dict[str, Any]:
    import torch

    from workers.one_run import train_once

    torch.set_num_threads(1)
    return train_once(spec, {}, budget)


def retrain(out: Path, choices: list[dict[str, Any]], seeds: int, workers: int) -> list[dict]:
    """Train every distinct chosen spec at the confirmation budget at seeds 0..``seeds``-1."""
    log = out / "retrain.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {(r["spec_id"], r["seed"]) for r in rows}
    specs = {c["spec_id"]: c["spec"] for c in choices}
    budget = confirmation_budget()
    todo = [(sid, s) for sid in specs for s in range(seeds) if (sid, s) not in done]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        jobs = {pool.submit(_train, specs[sid], {**budget, "seed": s}): (sid, s) for sid, s in todo}
        for job in as_completed(jobs):
            sid, s = jobs[job]
            row = {"spec_id": sid, "seed": s, **job.result()}
            with log.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            rows.append(row)
            print(f"retrained {sid} seed {s}: {row.get('val_accuracy', row.get('error'))}")
    return rows


def common_estimates(rows: list[dict[str, Any]], val_images: int) -> dict[str, Estimate]:
    """Each spec's mean accuracy over its common seeds, validation sampling included."""
    runs: dict[str, list[float]] = {}
    for row in rows:
        if "val_accuracy" in row:
            runs.setdefault(row["spec_id"], []).append(float(row["val_accuracy"]))
    return {sid: estimate(values, val_images=val_images) for sid, values in runs.items()}


def report(choices: list[dict[str, Any]], common: dict[str, Estimate]) -> str:
    """The markdown tables of docs/noise.md (c)."""
    lines = [
        "| `[proxy] seed` | search wall | `--knee` choice (trial) | MACs | in-run confirmed "
        "| common seeds | tied with the run's choice |",
        "|---:|---:|---|---:|---:|---:|---|",
    ]
    for c in choices:
        own = Estimate(**c["estimate"])
        others = [o for o in choices if o is not c]
        ties = [
            f"seed {o['seed']}: " + ("same spec" if o["spec_id"] == c["spec_id"] else
                                     ("tied" if tied(common[c["spec_id"]], common[o["spec_id"]])
                                      else "NOT tied"))
            for o in others
        ]  # fmt: skip
        lines.append(
            f"| {c['seed']} | {_seconds(c.get('wall_s'))} | {label(c['spec'])} ({c['trial']}) "
            f"| {c['macs'] / 1e6:.1f}M | {own.format()} | {common[c['spec_id']].format()} "
            f"| {'; '.join(ties)} |"
        )
    pairs = list(combinations(choices, 2))
    stable = all(
        a["spec_id"] == b["spec_id"] or tied(common[a["spec_id"]], common[b["spec_id"]])
        for a, b in pairs
    )
    verdict = "stable" if stable else "NOT stable"
    lines += ["", f"The exported choice is **{verdict}** over {len(choices)} searches."]
    return "\n".join(lines) + "\n"


def _seconds(wall: float | None) -> str:
    """A search's wall time; ``-`` where it was not measured in one go (a resumed search)."""
    return "-" if wall is None else f"{wall:.0f} s"


def label(spec: dict[str, Any]) -> str:
    """``stage: block@position`` per attended stage, or ``no attention``."""
    from nas.results.member import stage_labels

    parts = [s for s in stage_labels(spec) if s != "-"]
    return ", ".join(parts) if parts else "no attention"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/stability-runs"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain-seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--markdown", type=Path, help="write the table here too")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2 or args.retrain_seeds < 2:
        parser.error("stability needs two searches or more and two retraining seeds or more")
    args.out.mkdir(parents=True, exist_ok=True)
    choices = [search(args.out, seed) for seed in args.seeds]
    rows = retrain(args.out, choices, args.retrain_seeds, args.workers)
    val_images = int(confirmation_budget()["val_samples"])
    text = report(choices, common_estimates(rows, val_images))
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
