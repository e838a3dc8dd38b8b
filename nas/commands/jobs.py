"""``nas jobs``: the jobs submitted to a Ray job server, with status, start time and command."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING

from nas.commands.submit import add_address

if TYPE_CHECKING:
    from ray.job_submission import JobDetails

NAME = "jobs"
HELP = "list the jobs submitted to a Ray cluster: id, status, start time, study, command"
ORDER = 33
ENTRYPOINT_CHARS = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_address(parser)
    parser.add_argument("--json", action="store_true", help="print the jobs as JSON")


def run(args: argparse.Namespace) -> int:
    from nas.jobs.server import JobServer

    server = JobServer(args.address)
    jobs = server.jobs()
    if args.json:
        print(json.dumps({"address": server.url, "jobs": [_as_json(job) for job in jobs]}))
    elif not jobs:
        print(f"no jobs at {server.url}; `nas submit CONFIG.toml` starts one")
    else:
        print(_table(jobs))
    return 0


def _as_json(job: JobDetails) -> dict[str, object]:
    from nas.jobs.server import status_name

    return {
        "submission_id": job.submission_id,
        "status": status_name(job),
        "start_time": _time(job.start_time, iso=True),
        "end_time": _time(job.end_time, iso=True),
        "entrypoint": job.entrypoint,
        "metadata": dict(job.metadata or {}),
        "message": job.message,
    }


def _table(jobs: list[JobDetails]) -> str:
    from nas.jobs.server import status_name

    header = ["submission id", "status", "started", "study", "entrypoint"]
    rows = [
        [
            str(job.submission_id),
            status_name(job),
            _time(job.start_time) or "-",
            (job.metadata or {}).get("nas_study", "-"),
            _short(job.entrypoint),
        ]
        for job in jobs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _time(ms: int | None, *, iso: bool = False) -> str | None:
    """A Ray timestamp (Unix ms) as local time."""
    if not ms:
        return None
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return moment.isoformat(timespec="seconds") if iso else moment.strftime("%Y-%m-%d %H:%M:%S")


def _short(entrypoint: str) -> str:
    text = " ".join(entrypoint.split())
    return text if len(text) <= ENTRYPOINT_CHARS else text[: ENTRYPOINT_CHARS - 3] + "..."
