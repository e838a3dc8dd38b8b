"""``nas logs JOB``: what a Ray job has written (stdout and stderr); ``--follow`` to its end."""

from __future__ import annotations

import argparse
import sys

from nas.commands.submit import add_address

NAME = "logs"
HELP = "print a Ray job's output (--follow: until it ends, exit with its status)"
ORDER = 34


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="submission id (nas submit prints it, nas jobs lists them)")
    add_address(parser)
    parser.add_argument(
        "--follow", action="store_true", help="follow the output until the job ends"
    )


def run(args: argparse.Namespace) -> int:
    from nas.jobs.follow import follow, report_end, stopped_following
    from nas.jobs.server import JobServer

    server = JobServer(args.address)
    if not args.follow:
        server.info(args.job)  # an unknown id is one line, not an HTTP error
        sys.stdout.write(server.logs(args.job))
        return 0
    try:
        details = follow(server, args.job, sys.stdout)
    except KeyboardInterrupt:
        return stopped_following(NAME, args.job, server.address)
    return report_end(NAME, args.job, details)
