"""Faults a search survives, measured: a trial's Ray worker killed mid-epoch, the driver killed
mid-search and run again, the PostgreSQL server restarted mid-search.

Every search here is a real ``nas search`` subprocess (real Ray, real SQLite or PostgreSQL) on
tiny banded IDX data (:func:`tests.idx.write_banded_fashion_mnist`), with epochs long enough
(about a second each) that a kill lands inside one. Killing is ``SIGKILL``: nothing of the
killed process runs after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from nas.search.ledger import INTERRUPTED
from nas.search.study import counts
from tests.idx import write_banded_fashion_mnist

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CONFIG = """
[search]
study = "{study}"
trials = {trials}
concurrency = {concurrency}
seed = 0
sampler = "random"
pruner = "none"
[space]
width = 0.5
blocks = ["none", "se", "eca"]
positions = ["branch", "stage_end"]
[data]
data_dir = "{data}"
download = false
[proxy]
epochs = {epochs}
train_samples = 800
val_samples = 100
width = 0.25
batch_size = 50
augment = false
[confirm]
after_search = false
"""


def write_search(
    tmp_path: Path, study: str, *, trials: int, concurrency: int = 2, epochs: int = 4
) -> Path:
    """A search config for ``study`` on banded data under ``tmp_path``; returns its path."""
    data = write_banded_fashion_mnist(tmp_path / "idx", n=1000)
    path = tmp_path / f"{study}.toml"
    path.write_text(
        CONFIG.format(study=study, trials=trials, concurrency=concurrency, epochs=epochs, data=data)
    )
    return path


class Search:
    """One ``nas search`` subprocess in a session of its own (so its Ray goes with it)."""

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

    def sigkill(self) -> None:
        """SIGKILL the driver alone, then whatever of its Ray is left (a dead job's cgroup)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        time.sleep(1.0)
        self.kill_all()

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short ``TMPDIR`` for the searches (Ray's socket paths must be short)."""
    folder = Path(tempfile.mkdtemp(prefix="nas-fault-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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


def trials_of(url: str, study: str) -> list[FrozenTrial]:
    """The study's trials, or none while it does not exist yet."""
    try:
        return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=True)
    except KeyError:
        return []


def wait_until(what: str, check: Callable[[], bool], search: Search, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert search.process.poll() is None, f"search ended before {what}:\n{search.tail()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{search.tail()}"
        time.sleep(0.3)


def mid_training(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """RUNNING trials with at least one epoch reported."""
    return [t for t in trials if t.state == TrialState.RUNNING and t.intermediate_values]


def assert_budget_and_no_duplicates(trials: list[FrozenTrial], budget: int) -> None:
    """The budget reached exactly, nothing left RUNNING, no spec trained twice."""
    ended = [t for t in trials if t.state.is_finished()]
    assert sum(counts(t) for t in ended) == budget, [t.user_attrs for t in trials]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    trained = [
        t.user_attrs["spec_id"]
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and "reused_from" not in t.user_attrs
    ]
    assert len(trained) == len(set(trained)), f"a spec was trained twice: {sorted(trained)}"


def test_driver_killed_mid_search_resumes_without_loss_or_duplicates(
    tmp_path: Path, scratch: Path
) -> None:
    config, url = write_search(tmp_path, "driver", trials=6), f"sqlite:///{tmp_path / 'nas.db'}"
    search = Search(config, url, tmp_path / "search.log", scratch)

    def ready() -> bool:
        trials = trials_of(url, "driver")
        return any(t.state == TrialState.COMPLETE for t in trials) and bool(mid_training(trials))

    try:
        wait_until("a COMPLETE trial and one mid-training", ready, search)
        search.sigkill()
    finally:
        search.kill_all()
    before = trials_of(url, "driver")
    complete = {t.number: t for t in before if t.state == TrialState.COMPLETE}
    killed = {t.number: t for t in before if t.state == TrialState.RUNNING}
    assert complete and mid_training(before)
    resume = tmp_path / "nas.artifacts" / "resume" / "driver"
    kept = {n: _kept_epoch(resume / t.user_attrs["spec_id"]) for n, t in killed.items()}
    assert max(kept.values()) >= 1, "the trial mid-training kept its last epoch on disk"

    rerun = Search(config, url, tmp_path / "rerun.log", scratch)
    assert rerun.wait() == 0, rerun.tail()
    assert "interrupted trials marked FAIL and queued again" in rerun.tail()
    after = trials_of(url, "driver")
    assert_budget_and_no_duplicates(after, 6)
    for number, trial in complete.items():  # 0 completed trials lost
        assert after[number].state == TrialState.COMPLETE
        assert after[number].values == trial.values
        assert after[number].datetime_complete == trial.datetime_complete
    for number, trial in killed.items():
        assert after[number].state == TrialState.FAIL
        assert after[number].user_attrs["fail_reason"] == INTERRUPTED
        (copy,) = [t for t in after if t.user_attrs.get("requeued_from") == number]
        assert copy.params == trial.params and copy.state == TrialState.COMPLETE
        # The first epoch reported after the rerun is the one after the last kept (the last
        # epoch itself when the kill came after it was kept but before it was reported).
        assert min(copy.intermediate_values) == min(kept[number] + 1, 4), copy.intermediate_values
        assert copy.user_attrs["epochs_trained"] == 4
    assert not any(resume.iterdir()), "resume folders are removed once their trial ends"


def _kept_epoch(folder: Path) -> int:
    """The epoch of the state a killed trial left in its resume folder (0: none)."""
    return max((int(p.name.split("-")[1]) for p in folder.glob("epoch-*")), default=0)


def _ray_workers(root: int) -> list[int]:
    """Pids of Tune trial processes (``ray::ImplicitFunc``) under process ``root``."""
    children: dict[int, list[int]] = {}
    titles: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            titles[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            if "ImplicitFunc" in titles.get(child, ""):
                found.append(child)
    return found


def test_trial_worker_killed_mid_epoch_fails_with_reason_and_search_goes_on(
    tmp_path: Path, scratch: Path
) -> None:
    config, url = write_search(tmp_path, "worker", trials=4), f"sqlite:///{tmp_path / 'nas.db'}"
    search = Search(config, url, tmp_path / "search.log", scratch)
    try:
        wait_until(
            "a trial mid-training", lambda: bool(mid_training(trials_of(url, "worker"))), search
        )
        wait_until("its Ray worker", lambda: bool(_ray_workers(search.process.pid)), search)
        os.kill(_ray_workers(search.process.pid)[0], signal.SIGKILL)
        assert search.wait() == 0, search.tail()
    finally:
        search.kill_all()
    after = trials_of(url, "worker")
    assert_budget_and_no_duplicates(after, 4)
    failed = [t for t in after if t.state == TrialState.FAIL and counts(t)]
    assert len(failed) == 1, [t.user_attrs.get("fail_reason") for t in after]
    assert "worker process has died" in failed[0].user_attrs["fail_reason"], "Ray's reason"
    assert len([t for t in after if t.state == TrialState.COMPLETE]) == 3


def test_postgres_restarted_mid_search_the_driver_waits_and_finishes(
    tmp_path: Path, scratch: Path, postgres: Postgres
) -> None:
    config = write_search(tmp_path, "restart", trials=4)
    artifacts = tmp_path / "artifacts"
    search = Search(config, postgres.url, tmp_path / "search.log", scratch, artifacts)
    try:
        wait_until(
            "a trial mid-training",
            lambda: bool(mid_training(trials_of(postgres.url, "restart"))),
            search,
        )
        postgres.stop()
        time.sleep(5.0)  # the database away while trials report epochs
        postgres.start()
        assert search.wait() == 0, search.tail()
    finally:
        search.kill_all()
    after = trials_of(postgres.url, "restart")
    assert_budget_and_no_duplicates(after, 4)
    assert all(t.state == TrialState.COMPLETE for t in after), [t.user_attrs for t in after]
