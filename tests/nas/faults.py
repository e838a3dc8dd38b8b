"""Helpers for the fault and several-driver tests: tiny searches as real ``nas search``
subprocesses, a PostgreSQL server of the tests' own (:mod:`tests.nas.pg_server`, re-exported
here as ``Postgres`` and the ``postgres`` fixture), and what every such test checks.

Not collected (``tests/test_imports.py``): ``tests/nas/test_faults.py`` and the several-driver
tests (``tests/nas/search/test_drivers.py``, ``test_lost_connection.py``) import it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from nas.search.ledger import counts_to_budget
from storage import open_storage
from tests.idx import write_banded_fashion_mnist
from tests.nas.pg_server import Postgres as Postgres  # re-exported: the tests use faults.*
from tests.nas.pg_server import postgres as postgres
from tests.nas.searches import RANDOM, search_toml

REPO = Path(__file__).resolve().parents[2]


def write_search(
    tmp_path: Path,
    study: str,
    *,
    trials: int,
    concurrency: int = 2,
    epochs: int = 4,
    max_retries: int | None = None,
    noise_specs: int = 0,
) -> Path:
    """A search config for ``study`` on banded data under ``tmp_path``; returns its path.

    No ``[noise]`` replicas unless ``noise_specs``: these tests count and kill trials by their
    place in the budget, which replicas (tests/nas/search/test_replicas.py) would shift."""
    data = write_banded_fashion_mnist(tmp_path / "idx", n=1000)
    path = tmp_path / f"{study}.toml"
    search = {"study": study, "trials": trials, "concurrency": concurrency, **RANDOM}
    proxy = {"epochs": epochs, "train_samples": 800, "val_samples": 100}
    text = search_toml(data=data, search=search, proxy=proxy)
    if max_retries is not None:
        text += f"[resources]\nmax_retries = {max_retries}\n"
    text += f"[noise]\nspecs = {noise_specs}\n"
    path.write_text(text)
    return path


class Search:
    """One ``nas search`` subprocess in a session of its own: every process it starts, Ray's
    included, stays in that session (Ray's trial workers take process groups of their own, so
    a process-group kill misses them; a session kill does not)."""

    def __init__(
        self, config: Path, url: str, log: Path, scratch: Path, artifacts: Path | None = None
    ) -> None:
        env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "nas", "search", str(config), "--storage", url]
        if artifacts is not None:
            command += ["--artifacts", str(artifacts)]
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait(self, timeout: float = 400) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill_all()

    def signal_all(self, signum: signal.Signals) -> None:
        """Send ``signum`` to every live process of the search's session, the driver first."""
        pids = [p.pid for p in processes() if p.session == self.process.pid and p.live]
        for pid in sorted(pids, key=lambda pid: pid != self.process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def sigkill(self) -> None:
        """SIGKILL the driver, then every process of its session, and wait until all are gone:
        nothing of the killed search (a Ray worker finishing its epoch) runs after this."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.kill_all()

    def kill_all(self, timeout: float = 30) -> None:
        """SIGKILL every live process of the search's session until none is left."""
        deadline = time.monotonic() + timeout
        while pids := [p.pid for p in processes() if p.session == self.process.pid and p.live]:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            assert time.monotonic() < deadline, f"processes {pids} outlived SIGKILL"
            time.sleep(0.1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class Process:
    """One row of ``/proc``: ``pid``, parent, session, whether it runs (not a zombie), title."""

    pid: int
    parent: int
    session: int
    live: bool
    title: str


def processes() -> list[Process]:
    """Every process ``/proc`` shows now (those that end while it is read are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...
        live = fields[0] not in ("Z", "X")
        found.append(Process(int(entry.name), int(fields[1]), int(fields[3]), live, title))
    return found


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short ``TMPDIR`` for the searches (Ray's socket paths must be short)."""
    folder = Path(tempfile.mkdtemp(prefix="nas-fault-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def trials_of(url: str, study: str) -> list[FrozenTrial]:
    """The study's trials, or none while its storage or the study does not exist yet.

    Opened as the readers open a storage (``open_storage(create=False)``): Optuna's own
    ``load_study(storage=url)`` on a SQLite file the search is still creating races it to stamp
    the schema version and fails with ``UNIQUE constraint failed: alembic_version``.
    """
    try:
        storage = open_storage(url, create=False)
    except ValueError:  # the search has not created the file yet
        return []
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=True)
    except KeyError:
        return []


def wait_until(what: str, check: Callable[[], bool], search: Search, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert search.process.poll() is None, f"search ended before {what}:\n{search.tail()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{search.tail()}"
        time.sleep(0.3)


def kill_when(what: str, check: Callable[[], bool], search: Search) -> None:
    """SIGKILL ``search`` in a state where ``check()`` holds: wait for it, stop the whole
    session (``SIGSTOP``: no trial finishes and nothing is written in between), check again on
    the frozen state, and kill; let it go on (``SIGCONT``) and wait again if it moved on."""
    while True:
        wait_until(what, check, search)
        search.signal_all(signal.SIGSTOP)
        time.sleep(0.2)  # a signal takes effect when its process next runs
        if check():
            search.sigkill()
            return
        search.signal_all(signal.SIGCONT)


def trial_workers(search: Search) -> list[int]:
    """Pids of the search's live Tune trial processes (``ray::ImplicitFunc``)."""
    return [
        p.pid
        for p in processes()
        if p.session == search.process.pid and p.live and "ImplicitFunc" in p.title
    ]


def hold_training(held: Search, until: Callable[[], bool], what: str, other: Search) -> None:
    """Keep ``held``'s trial workers stopped (``SIGSTOP``, each as it appears) until ``until()``,
    then let them go on (``SIGCONT``); ``what`` and ``other`` as in :func:`wait_until`.

    Only the trial processes stop: ``held``'s driver runs on and beats for its trials, so no
    one takes them over, but it cannot finish a trial, so it cannot reach the budget alone
    while ``other`` starts, however long a loaded machine makes ``other``'s start."""
    stopped: set[int] = set()

    def stop_new_then_check() -> bool:
        for pid in set(trial_workers(held)) - stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
        return until()

    try:
        wait_until(what, stop_new_then_check, other)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def mid_training(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """RUNNING trials with at least one epoch reported."""
    return [t for t in trials if t.state == TrialState.RUNNING and t.intermediate_values]


def assert_budget_and_no_duplicates(trials: list[FrozenTrial], budget: int) -> None:
    """The budget reached exactly, nothing left RUNNING, no spec trained twice (but replicas)."""
    ended = [t for t in trials if t.state.is_finished()]
    assert sum(counts_to_budget(t) for t in ended) == budget, [t.user_attrs for t in trials]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    trained = [
        t.user_attrs["spec_id"]
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        and "reused_from" not in t.user_attrs
        and "replica_of" not in t.user_attrs  # trained again at another seed on purpose
    ]
    assert len(trained) == len(set(trained)), f"a spec was trained twice: {sorted(trained)}"
