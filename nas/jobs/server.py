"""One Ray job server, through Ray's public Jobs API (``ray.job_submission``).

Every ``nas submit|jobs|logs|stop`` goes through :class:`JobServer`, so an unreachable address,
an unknown job id or a failed request reads the same everywhere: a ``ValueError`` of one line
naming the address and what to do (the CLI prints it, exit status 2).

The address is ``--address``, else ``$RAY_API_SERVER_ADDRESS`` or ``$RAY_ADDRESS``, else the
job server a local ``ray start --head`` opens, ``http://127.0.0.1:8265``. An ``http(s)://`` URL is
the dashboard's own address; anything else (``auto``, a GCS ``HOST:6379``) is resolved by Ray
through the cluster, as ``ray job submit`` does. Ray lets those variables override an explicit
address; here the flag wins (they are hidden while the client is made).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nas.cluster import auth_refused, probe, ray_token, token_mode

if TYPE_CHECKING:
    from ray.job_submission import JobDetails, JobSubmissionClient

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_VARIABLES = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
"""Ray's own variables for the job server, in Ray's order of precedence."""
START_HINT = "start a head with `ray start --head` (job server on :8265) or pass --address"
QUIET_LOGGERS = (
    "ray.dashboard.modules.dashboard_sdk",
    "ray.dashboard.modules.job.sdk",
    "ray._private.runtime_env.packaging",
)
"""Ray's INFO lines of a client (package uploaded, websocket closed): not news to a user."""
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


def job_server_address(given: str | None) -> str:
    """The address a command was given (``--address``), else Ray's variables, else the default."""
    if given is not None:
        if not given.strip():
            raise ValueError(f"--address is empty; omit it for $RAY_ADDRESS or {DEFAULT_ADDRESS}")
        return given.strip()
    for variable in ADDRESS_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return DEFAULT_ADDRESS


def status_name(details: JobDetails) -> str:
    """``"RUNNING"``, ``"SUCCEEDED"``, ...: a job's status as plain text."""
    return str(getattr(details.status, "value", details.status))


class JobServer:
    """A connected ``JobSubmissionClient`` and the address it was given, for messages."""

    def __init__(self, given: str | None) -> None:
        self.address = job_server_address(given)
        self.client = _connect(self.address)

    @property
    def url(self) -> str:
        """The job server's HTTP URL (Ray's resolution of :attr:`address`)."""
        return str(self.client.get_address())

    def submit(self, **request: Any) -> str:
        """``JobSubmissionClient.submit_job(**request)``: the new job's submission id."""
        return str(self._call("submit a job to", None, self.client.submit_job, **request))

    def jobs(self) -> list[JobDetails]:
        """The jobs submitted through the Jobs API, oldest first (drivers started by hand,
        which ``nas logs``/``nas stop`` cannot reach, are left out)."""
        every = self._call("list the jobs of", None, self.client.list_jobs)
        submitted = [job for job in every if job.submission_id]
        return sorted(submitted, key=lambda job: (job.start_time or 0, job.submission_id))

    def info(self, job: str) -> JobDetails:
        """The job's details; ``ValueError`` naming the address when there is no such job."""
        return self._call("read", job, self.client.get_job_info, job)

    def logs(self, job: str) -> str:
        """Everything the job's entrypoint has written so far (stdout and stderr)."""
        return str(self._call("read the logs of", job, self.client.get_job_logs, job))

    def stop(self, job: str) -> bool:
        """Ask the job to stop (SIGTERM, then SIGKILL); ``False`` if it had already ended."""
        return bool(self._call("stop", job, self.client.stop_job, job))

    def wait(self, job: str, timeout_s: float | None = None, poll_s: float = 0.5) -> JobDetails:
        """The job's details once it is SUCCEEDED, FAILED or STOPPED (or ``timeout_s`` passed)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        details = self.info(job)
        while status_name(details) not in TERMINAL:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll_s)
            details = self.info(job)
        return details

    def _call(self, action: str, job: str | None, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (OSError, RuntimeError) as exc:
            reason = _first_line(exc)
            if job is not None and "404" in reason:
                raise ValueError(
                    f"no job {job!r} at {self.address}; `nas jobs --address {self.address}` "
                    "lists the jobs there"
                ) from None
            target = self.address if job is None else f"job {job!r} at {self.address}"
            raise ValueError(f"could not {action} {target}: {reason}") from None


def _connect(address: str) -> JobSubmissionClient:
    try:
        from ray.exceptions import AuthenticationError
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:  # ray without its [default] extra has no Jobs SDK
        raise ValueError(
            f"Ray's Jobs API is not installed ({exc}); pip install 'ray[default]'"
        ) from None
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    http = address.startswith(("http://", "https://"))
    if not http:  # Ray looks the job server up through the cluster: RAY_AUTH_MODE must match
        probe(address)
    sent = token_mode()
    with _without(ADDRESS_VARIABLES):
        try:
            try:
                return JobSubmissionClient(address)
            except AuthenticationError:
                token, _ = ray_token()
                if token is None or not http:
                    raise
                sent = True  # a job server takes the token in a header, whatever the mode
                return JobSubmissionClient(address, headers={"Authorization": f"Bearer {token}"})
        except AuthenticationError:
            raise ValueError(auth_refused(address, what="the job server", sent=sent)) from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise ValueError(
                f"no Ray job server at {address} ({_first_line(exc)}); {START_HINT} "
                "http://HOST:8265"
            ) from None


@contextlib.contextmanager
def _without(variables: tuple[str, ...]) -> Iterator[None]:
    """The environment without ``variables`` for the block (Ray would prefer them to the
    address it is given)."""
    saved = {name: os.environ.pop(name) for name in variables if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
