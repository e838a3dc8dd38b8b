"""A real Ray head with token authentication on, for the ``nas submit`` tests.

:func:`head` starts one per test module that imports it (``from tests.nas.job_head import
head``), with the environment docs/cluster.md tells users to give a head: ``RAY_AUTH_MODE``,
``RAY_AUTH_TOKEN`` and, when the tests have PostgreSQL, ``NAS_STORAGE_PASSWORD``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from nas.jobs.server import ADDRESS_VARIABLES, JobServer
from tests.idx import write_banded_fashion_mnist
from tests.nas.dashboard import free_ports
from tests.nas.searches import RANDOM, search_toml

IGNORE_SSL_NONE = pytest.mark.filterwarnings("ignore:ssl=None is deprecated:DeprecationWarning")
"""Ray's own tail_job_logs (ray/dashboard/modules/job/sdk.py) passes aiohttp ssl=None."""

TOKEN = secrets.token_hex(32)
"""The test head's Ray token (``RAY_AUTH_TOKEN``)."""


def tiny_config(tmp_path: Path, *, trials: int = 2, epochs: int = 1, data: str = "") -> Path:
    data = data or str(write_banded_fashion_mnist(tmp_path / "idx", n=200))
    path = tmp_path / "tiny.toml"
    search = {"study": "from-toml", "trials": trials, "concurrency": 2, **RANDOM}
    proxy = {"epochs": epochs, "train_samples": 150, "val_samples": 50, "width": 0.5}
    path.write_text(
        search_toml(data=data, search=search, proxy=proxy, space={"positions": ["branch"]})
    )
    return path


@pytest.fixture(scope="module")
def head() -> Iterator[str]:
    """The job server URL of a real two-CPU Ray head started for this module, with token
    authentication on (what ``ray start --head`` does wherever a Ray token exists)."""
    bin_dir = Path(sys.executable).parent
    temp = Path(tempfile.mkdtemp(prefix="nasray-", dir="/tmp"))  # short: Unix socket paths
    gcs, dashboard, client, agent = free_ports(4)
    env = {k: v for k, v in os.environ.items() if k not in ADDRESS_VARIABLES}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # the job's `python` is ours
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)
    postgres = os.environ.get("NAS_TEST_POSTGRES_URL")
    if postgres:  # docs/cluster.md: a job reads the storage password where the head started
        env["NAS_STORAGE_PASSWORD"] = make_url(postgres).password or ""
    command = [
        str(bin_dir / "ray"), "start", "--head", "--block", "--num-cpus", "2",
        "--port", str(gcs), "--dashboard-port", str(dashboard), "--include-dashboard=true",
        "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent),
        "--temp-dir", str(temp), "--disable-usage-stats",
    ]  # fmt: skip
    log = (temp / "head.log").open("w")
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{dashboard}"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RAY_AUTH_TOKEN", TOKEN)  # where nas finds a token to send
            wait_for_job_server(url, process, temp / "head.log")
            yield url
    finally:
        process.send_signal(signal.SIGTERM)  # --block: ends every process it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left in the head's group
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def wait_for_job_server(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"ray start --head exited {process.returncode}:\n{log.read_text()}")
        try:
            JobServer(url)
            return
        except ValueError:
            time.sleep(1)
    pytest.fail(f"no job server at {url} after 120 s:\n{log.read_text()}")
