"""A real ``nas dashboard`` process on a real SQLite study, for the dashboard tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.trial import TrialState, create_trial

STUDY = "tiny-front"
POINTS = [(0.80, 10e6), (0.70, 8e6), (0.75, 12e6), (0.90, 30e6)]


def write_study(url: str, name: str = STUDY) -> int:
    """A finished study in the study format (docs/study-format.md); returns its id."""
    from storage import open_storage
    from storage.internals import study_id

    study = optuna.create_study(
        study_name=name, storage=open_storage(url), directions=["maximize", "minimize"]
    )
    study.set_metric_names(["val_accuracy", "macs"])
    for accuracy, macs in POINTS:
        spec = {"backbone": "resnet20", "stages": [{}, {}, {"block": "se"}]}
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                values=[accuracy, macs],
                user_attrs={"spec": spec, "macs": int(macs)},
                intermediate_values={1: accuracy - 0.2, 2: accuracy - 0.05, 3: accuracy},
            )
        )
    return study_id(study)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free now: all held open together, so none is handed out twice."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200, url
        return bytes(response.read())


@contextmanager
def serving(
    url: str,
    cwd: Path,
    prefix: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    flags: Sequence[str] = (),
) -> Iterator[str]:
    """Run ``nas dashboard`` on ``url`` (after the command ``prefix``, e.g. ``setpriv ...``),
    with ``--host host`` and more ``flags``; yield its base URL once it answers."""
    port = free_port()
    command = [*prefix, sys.executable, "-m", "nas", "dashboard", "--storage", url]
    command += ["--port", str(port), "--host", host, *flags]
    log = cwd / f"dashboard-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                get(f"{base}/api/studies", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"at {base}/dashboard/" in log.read_text()
