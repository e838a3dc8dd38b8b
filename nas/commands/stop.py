"""``nas stop JOB``: stop a Ray job (``nas search`` stops on SIGTERM like Ctrl-C).

Ray sends SIGTERM and, if the job has not ended ``RAY_JOB_STOP_WAIT_TIME_S`` later (``nas
submit`` sets 30 s), SIGKILL. The command waits for the job to end and prints its status.
"""

from __future__ import annotations

import argparse

from nas.commands.submit import add_address

NAME = "stop"
HELP = "stop a Ray job and wait until it has ended"
ORDER = 35
WAIT_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="submission id (nas jobs lists them)")
    add_address(parser)


def run(args: argparse.Namespace) -> int:
    from nas.jobs.server import JobServer, status_name

    server = JobServer(args.address)
    before = server.info(args.job)
    if status_name(before) in ("SUCCEEDED", "FAILED", "STOPPED"):
        print(f"job {args.job} had already ended: {status_name(before)}")
        return 0
    server.stop(args.job)
    status = status_name(server.wait(args.job, timeout_s=WAIT_S))
    if status != "STOPPED" and status not in ("SUCCEEDED", "FAILED"):
        print(f"job {args.job}: stop requested, still {status} after {WAIT_S:.0f} s")
        return 1
    print(f"job {args.job} {status}")
    return 0
