"""A PostgreSQL server of the tests' own, on a free port: restarting it disturbs no one.

Not collected: :mod:`tests.nas.faults` re-exports it for the fault and several-driver tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


class Postgres:
    """A PostgreSQL server of this test module's own (so restarting it disturbs no one)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root, self.data = bindir, root, root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args: str) -> None:
        owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*owner, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "server.log")
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster on a free port (trust auth), skipped without the server."""
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not bindirs:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    pytest.importorskip("psycopg")
    root = Path(tempfile.mkdtemp(prefix="nas-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = Postgres(bindirs[-1].parent, root)
    try:
        server.run(
            str(server.bindir / "initdb"),
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )
        server.start()
    except (subprocess.CalledProcessError, OSError, LookupError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot run a PostgreSQL server here: {exc}")
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop()
    shutil.rmtree(root, ignore_errors=True)
