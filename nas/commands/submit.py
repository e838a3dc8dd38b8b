"""``nas submit CONFIG.toml``: run ``nas search CONFIG.toml`` as a job on a Ray cluster.

The config is checked here first (a bad one is refused before anything is sent, exit 2); the
job id is the one line on stdout. With ``--wait`` the job's output follows it and the exit
status is the job's (0 SUCCEEDED, 1 FAILED or STOPPED). What is shipped and how the storage is
resolved: :mod:`nas.jobs.submission`, docs/cluster.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from nas.commands.search import add_search_flags, search_overrides

NAME = "submit"
HELP = "submit `nas search CONFIG.toml` as a job to a Ray cluster (prints the job id)"
ORDER = 32


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="TOML config of the search (docs/search.example.toml)")
    add_address(parser)
    add_search_flags(
        parser,
        storage_help="storage URL or .db path, made absolute here (default nas-results/nas.db)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="follow the job's output; exit with its status"
    )


def add_address(parser: argparse.ArgumentParser) -> None:
    """``--address``, shared by the job commands."""
    parser.add_argument(
        "--address",
        help="Ray job server (default: $RAY_API_SERVER_ADDRESS, $RAY_ADDRESS, "
        "else http://127.0.0.1:8265)",
    )


def run(args: argparse.Namespace) -> int:
    from nas.jobs.follow import follow, report_end, stopped_following
    from nas.jobs.server import JobServer
    from nas.jobs.submission import Submission
    from storage import redact

    overrides = search_overrides(args)
    submission = Submission.prepare(
        args.config, overrides, no_confirm=args.no_confirm, verbose=args.verbose
    )
    server = JobServer(args.address)
    submission.check_storage_reaches(server.url)
    with tempfile.TemporaryDirectory(prefix="nas-submit-") as folder:
        job = server.submit(**submission.request(Path(folder)))
    print(
        f"nas submit: study {submission.config.search.study!r} in "
        f"{redact(submission.storage_url)}, job {job} at {server.url}",
        file=sys.stderr,
    )
    if submission.password_note is not None:
        print(f"nas submit: {submission.password_note}", file=sys.stderr)
    print(job, flush=True)
    if not args.wait:
        return 0
    try:
        details = follow(server, job, sys.stdout)
    except KeyboardInterrupt:
        return stopped_following(NAME, job, server.address)
    return report_end(NAME, job, details)
