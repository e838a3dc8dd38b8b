"""``bench/scale.py``'s study-page timings: a dashboard started as a user starts it, and the
calls its page makes, with the server's own CPU time and memory (by hand; see scale.py).

Stock optuna-dashboard (``run_server``) and ``nas dashboard`` each serve their own copy of the
file: the first load right after the server answers, a second load, a load after a trial
finished, the incremental ``?after=N`` poll; and a page built cold in a fresh process.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NAS = [sys.executable, "-m", "nas"]


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
        env=env(),
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
        env=env(),
        capture_output=True,
        check=True,
        text=True,
    )
    wall, cpu, sent = done.stdout.split()
    return {"s": round(float(wall), 2), "cpu_s": round(float(cpu), 2), "bytes_sent": int(sent)}


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


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}
