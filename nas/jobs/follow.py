"""Following a job's output until it ends (``nas submit --wait``, ``nas logs --follow``)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, TextIO

from nas.jobs.server import JobServer, status_name

if TYPE_CHECKING:
    from ray.job_submission import JobDetails

EXIT_STATUS = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 1}
"""A command's exit status for the job's terminal status."""


def follow(server: JobServer, job: str, out: TextIO) -> JobDetails:
    """Write the job's output to ``out`` as it comes, and return its details once it has ended.

    The stream is Ray's websocket (``tail_job_logs``), which closes when the job ends. Should it
    close early, the job is polled to its end and the output not yet written is written then.
    """
    from aiohttp import ClientError

    server.info(job)  # an unknown job is one line, before any stream is opened
    written = 0

    async def tail() -> None:
        nonlocal written
        async for chunk in server.client.tail_job_logs(job):
            out.write(chunk)
            out.flush()
            written += len(chunk)

    with contextlib.suppress(OSError, RuntimeError, ClientError):  # broke: logs below
        asyncio.run(tail())
    details = server.wait(job)
    rest = server.logs(job)[written:]
    if rest:
        out.write(rest)
        out.flush()
    return details


def report_end(command: str, job: str, details: JobDetails) -> int:
    """One line on stderr for a job that has ended; the exit status for it (0 SUCCEEDED)."""
    status = status_name(details)
    message = (details.message or "").strip().splitlines()
    why = f": {message[0]}" if message and status != "SUCCEEDED" else ""
    print(f"nas {command}: job {job} {status}{why}", file=sys.stderr)
    return EXIT_STATUS.get(status, 1)


def stopped_following(command: str, job: str, address: str) -> int:
    """Ctrl-C while following: the job is not stopped, and how to stop it is said (exit 130)."""
    print(
        f"nas {command}: stopped following; job {job} keeps running "
        f"(nas stop {job} --address {address})",
        file=sys.stderr,
    )
    return 130
