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
import gzip
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NAS = [sys.executable, "-m", "nas"]


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
        [*NAS, *args], cwd=cwd, env=_env(), capture_output=True, check=False, timeout=600
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr.decode()[-2000:], file=sys.stderr)
    return {"rc": done.returncode, "s": round(wall, 2), "bytes": len(done.stdout)}


STOCK = (
    "import sys; from optuna_dashboard import run_server; from storage import open_storage; "
    "run_server(open_storage(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]))"
)
"""optuna-dashboard as ``nas dashboard`` served it before issue 28: the stock server."""


def time_dashboard(path: Path, study_name: str, cwd: str, *, stock: bool) -> dict[str, Any]:
    """Start ``nas dashboard`` (or the stock server) on a copy of ``path`` and time the study
    page's API calls: from the start, again, after a trial finishes, the open page's poll."""
    copy = Path(cwd) / ("stock.db" if stock else "nas.db")
    shutil.copyfile(path, copy)  # each server on the same trials; the finished one added here
    url = f"sqlite:///{copy}"
    port = _free_port()
    if stock:
        command = [sys.executable, "-c", STOCK, url, str(port)]
    else:
        command = [*NAS, "dashboard", "--storage", url, "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        out: dict[str, Any] = {"ready_s": round(time.perf_counter() - started, 2)}
        out["studies"], body = _get(f"{base}/api/studies", server.pid)
        study = next(
            s for s in json.loads(body)["study_summaries"] if s["study_name"] == study_name
        )
        page = f"{base}/api/studies/{study['study_id']}"
        out["first_load"], body = _get(page, server.pid)
        out["start_to_page_s"] = round(time.perf_counter() - started, 2)
        out["start_to_page_cpu_s"] = round(_cpu_s(server.pid), 2)
        detail = json.loads(body)
        n = len(detail["trials"])
        out["per_trial"] = _breakdown(detail["trials"])
        out["second_load"], _ = _get(page, server.pid)
        _finish_one(url, study_name)
        time.sleep(11)  # past optuna-dashboard's trial cache (10 s above 500 trials)
        out["load_after_a_trial_finished"], body = _get(page, server.pid)
        assert len(json.loads(body)["trials"]) == n + 1, "the new trial is not on the page"
        out["poll_after"], _ = _get(f"{page}?after={n}", server.pid)
        out["reload_after_ttl"], _ = _get(page, server.pid)
        out["trials"], out["study_id"] = n, study["study_id"]
        out["server_rss_mb"] = _rss_mb(server.pid)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def _finish_one(url: str, study_name: str) -> None:
    """A trial finishes while the page is open, as during a search: a copy of the last one."""
    import optuna
    from optuna.trial import create_trial

    study = optuna.load_study(study_name=study_name, storage=url)
    last = study.get_trials(deepcopy=False)[-1]
    study.add_trial(
        create_trial(
            state=last.state,
            values=last.values,
            params=last.params,
            distributions=last.distributions,
            user_attrs=last.user_attrs,
            system_attrs=last.system_attrs,
            intermediate_values=last.intermediate_values,
        )
    )


COLD = (
    "import sys, time; from nas.commands._dashboard_page import StudyPages; "
    "from storage import open_storage; pages = StudyPages(open_storage(sys.argv[1])); "
    "wall, cpu = time.perf_counter(), time.process_time(); body = pages.gzipped(int(sys.argv[2])); "
    "print(time.perf_counter() - wall, time.process_time() - cpu, len(body))"
)
"""``nas dashboard``'s study page built once in a fresh process, with no warm-up before it."""


def time_cold_page(path: Path, study_id: int, cwd: str) -> dict[str, Any]:
    """The first page with nothing read before: what a load costs when the warm-up has not
    run (the browser asked at once, or the study appeared after the start)."""
    url = f"sqlite:///{path}"
    done = subprocess.run(
        [sys.executable, "-c", COLD, url, str(study_id)],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        check=True,
        text=True,
    )
    wall, cpu, sent = done.stdout.split()
    return {"s": round(float(wall), 2), "cpu_s": round(float(cpu), 2), "bytes_sent": int(sent)}


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


def _breakdown(trials: list[dict[str, Any]]) -> dict[str, int]:
    """Mean JSON bytes per trial of the study page, and of its parts."""

    def size(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":")))

    n = max(len(trials), 1)
    dists = sum(size(p["distribution"]) for t in trials for p in t["params"])
    return {
        "total": sum(size(t) for t in trials) // n,
        "params": sum(size(t["params"]) for t in trials) // n,
        "params_distributions": dists // n,
        "user_attrs": sum(size(t["user_attrs"]) for t in trials) // n,
        "intermediate_values": sum(size(t["intermediate_values"]) for t in trials) // n,
    }


def _get(url: str, server: int) -> tuple[dict[str, Any], bytes]:
    """Wall time, the server's CPU time (user + system, all its threads: the load-independent
    cost on a shared machine) and bytes of one call."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    cpu = _cpu_s(server)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as reply:
        sent = reply.read()
        encoding = reply.headers.get("Content-Encoding")
    wall = time.perf_counter() - started
    body = gzip.decompress(sent) if encoding == "gzip" else sent
    took = {"s": round(wall, 2), "cpu_s": round(_cpu_s(server) - cpu, 2)}
    return {**took, "bytes_sent": len(sent), "bytes_json": len(body)}, body


def _rss_mb(pid: int) -> int:
    """The memory process ``pid`` holds now (Linux: ``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


def _cpu_s(pid: int) -> float:
    """CPU seconds process ``pid`` has used so far (Linux: ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(base: str) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{base}/api/studies", timeout=60):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("nas dashboard did not answer within 2 minutes")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


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
