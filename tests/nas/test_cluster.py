"""The cluster recipe of docs/cluster.md against a real two-node Ray cluster with token auth on.

A head (``ray start --head --block``) and a second node (``ray start --address --block``), each
with its own temp dir and ports, both started with the documented environment
(``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``) and an empty ``HOME`` (so no ``~/.ray`` of this
machine is read or written); each is its own process group, ended by its pid at the end (never
``ray stop``, which would stop every Ray on the machine). ``nas search`` (``RAY_ADDRESS``) and
``nas submit`` run as subprocesses with the documented environment only; the wrong settings
fail in one line, fast, and leave no study.
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
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.cluster import check_token_settings, cluster_address
from tests.idx import write_banded_fashion_mnist
from tests.nas.dashboard import free_ports
from tests.nas.searches import RANDOM, search_toml

BIN = Path(sys.executable).parent
RAY = [sys.executable, "-m", "ray.scripts.scripts"]
"""``ray`` of this interpreter (a worktree's venv may have no ``ray`` script)."""
NODE_ATTR = "node_id"
"""The trial user attr the search records the training node under."""


@dataclass
class Cluster:
    address: str
    """The head's GCS address, ``127.0.0.1:PORT``: what ``RAY_ADDRESS`` is set to."""
    token: str
    home: Path
    """An empty ``HOME`` for every process of the test."""

    def env(self, **changes: str | None) -> dict[str, str]:
        """The documented environment of a driver (docs/cluster.md), changed by ``changes``
        (``None`` removes a variable)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(
            HOME=str(self.home),
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            RAY_ADDRESS=self.address,
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=self.token,
        )
        for key, value in changes.items():
            env.pop(key, None)
            if value is not None:
                env[key] = value
        return env


@contextlib.contextmanager
def _ray_start(args: list[str], env: dict[str, str], temp: Path) -> Iterator[None]:
    """``ray start ARGS --block`` in a process group of its own, ended at the end."""
    log = (temp.parent / f"{temp.name}.log").open("w")
    command = [*RAY, "start", *args, "--block", "--temp-dir", str(temp), "--disable-usage-stats"]
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)  # --block: ends every process it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left in its group
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _alive_nodes(cluster: Cluster) -> int:
    code = "import ray; ray.init(); print(sum(n['Alive'] for n in ray.nodes()))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=cluster.env(), capture_output=True, text=True
    )
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head and a second node, one CPU each, token auth on, the documented environment."""
    base = Path(tempfile.mkdtemp(prefix="nascl-", dir="/tmp"))  # short: Unix socket paths
    (base / "home").mkdir()
    gcs, dashboard, client, agent, node_agent = free_ports(5)
    c = Cluster(address=f"127.0.0.1:{gcs}", token=secrets.token_hex(32), home=base / "home")
    env = c.env(RAY_ADDRESS=None)
    head = [
        "--head", "--num-cpus", "1", "--port", str(gcs), "--include-dashboard=true",
        "--dashboard-port", str(dashboard), "--ray-client-server-port", str(client),
        "--dashboard-agent-listen-port", str(agent),
    ]  # fmt: skip
    node = ["--address", c.address, "--num-cpus", "1"]
    node += ["--dashboard-agent-listen-port", str(node_agent)]
    try:
        with _ray_start(head, env, base / "head"), _ray_start(node, env, base / "node"):
            deadline = time.monotonic() + 180
            while _alive_nodes(c) < 2:
                if time.monotonic() > deadline:
                    logs = "".join(p.read_text() for p in base.glob("*.log"))
                    pytest.fail(f"no two-node cluster after 180 s:\n{logs}")
                time.sleep(2)
            yield c
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _config(folder: Path, study: str, epochs: int = 1, reuse_actors: bool = True) -> Path:
    data = folder / "idx"
    if not data.exists():
        write_banded_fashion_mnist(data, n=200)
    path = folder / f"{study}.toml"
    search = {"study": study, "trials": 2, "concurrency": 2, **RANDOM}
    proxy = {"epochs": epochs, "train_samples": 150, "val_samples": 50, "width": 0.5}
    path.write_text(
        search_toml(data=data, search=search, proxy=proxy, space={"positions": ["branch"]})
        + "[resources]\ncpus_per_trial = 1.0\nmax_trial_seconds = 300.0\n"
        + f"reuse_actors = {str(reuse_actors).lower()}\n"
    )
    return path


def _nas(cluster: Cluster, args: list[str], cwd: Path, **env: str | None) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(BIN / "python"), "-m", "nas", *args],
        env=cluster.env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr


def _trials(db: Path, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=f"sqlite:///{db}").get_trials()


@pytest.mark.slow
def test_search_and_submit_through_a_token_cluster(cluster: Cluster, tmp_path: Path) -> None:
    """``nas search`` with ``RAY_ADDRESS`` trains on both nodes; ``nas submit`` to the same
    address runs its job to SUCCEEDED: the documented environment only."""
    db = tmp_path / "nas.db"
    # Each trial in a worker of its own, for three epochs: under load the first trial once
    # ended before the second's worker started on the other node, and Tune handed the second
    # to the first's freed worker on the head (reuse_actors; seen with one epoch, and again
    # with three under three test processes on two cores).
    config = _config(tmp_path, "driven", epochs=3, reuse_actors=False)
    code, out, err = _nas(cluster, ["search", str(config), "--storage", str(db)], tmp_path)
    assert code == 0, out + err
    trials = _trials(db, "driven")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2, out + err
    assert len({t.user_attrs[NODE_ATTR] for t in trials}) == 2  # one CPU a node: both used

    config = _config(tmp_path, "submitted")
    argv = ["submit", str(config), "--storage", str(db), "--wait"]
    code, out, err = _nas(cluster, argv, tmp_path)
    assert code == 0, out + err
    assert [t.state for t in _trials(db, "submitted")] == [TrialState.COMPLETE] * 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"RAY_AUTH_MODE": None}, "RAY_AUTH_MODE=token"),  # the head's token file, no mode
        ({"RAY_AUTH_MODE": "disabled"}, "RAY_AUTH_MODE=token"),
        ({"RAY_AUTH_TOKEN": "0" * 64}, "RAY_AUTH_TOKEN="),  # another token
        ({"RAY_AUTH_TOKEN": None}, "RAY_AUTH_TOKEN="),  # mode token, no token anywhere
    ],
)
def test_a_wrong_auth_setting_is_one_line_and_writes_nothing(
    cluster: Cluster, tmp_path: Path, change: dict[str, str | None], variable: str
) -> None:
    """``nas search`` and ``nas submit`` refuse at once, naming the variable that fixes it;
    the search creates no study (no database file at all)."""
    (cluster.home / ".ray").mkdir(exist_ok=True)
    if change.get("RAY_AUTH_MODE", "token") != "token":  # as after a local `nas search`
        (cluster.home / ".ray" / "auth_token").write_text(cluster.token)
    db = tmp_path / "nas.db"
    config = str(_config(tmp_path, "refused"))
    try:
        for command in (["search", config], ["submit", config]):
            start = time.monotonic()
            code, out, err = _nas(cluster, [*command, "--storage", str(db)], tmp_path, **change)
            lines = err.strip().splitlines()
            assert code == 2 and len(lines) == 1, (command, out, err)
            assert variable in lines[0] and "docs/cluster.md" in lines[0], lines[0]
            assert time.monotonic() - start < 15, "refused at once, not after Ray's retries"
            assert not db.exists()
    finally:
        with contextlib.suppress(FileNotFoundError):
            (cluster.home / ".ray" / "auth_token").unlink()


@pytest.mark.slow
def test_an_address_with_no_cluster_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    port = free_ports(1)[0]
    nobody = Cluster(address=f"127.0.0.1:{port}", token="0" * 64, home=tmp_path)
    db = tmp_path / "nas.db"
    argv = ["search", str(_config(tmp_path, "unreached")), "--storage", str(db)]
    code, out, err = _nas(nobody, argv, tmp_path)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (out, err)
    assert f"could not reach the Ray cluster at 127.0.0.1:{port}" in lines[0]
    assert "RAY_ADDRESS" in lines[0] and not db.exists()


def test_token_mode_without_a_token_is_refused_before_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray itself aborts the process (C++) when ``RAY_AUTH_MODE=token`` finds no token."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "missing"))
    with pytest.raises(
        ValueError, match=r"no Ray token in \$RAY_AUTH_TOKEN_PATH .*RAY_AUTH_TOKEN="
    ):
        check_token_settings()
    (tmp_path / "missing").write_text("a" * 64)
    check_token_settings()
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    check_token_settings()  # no token needed


@pytest.mark.parametrize(("value", "address"), [("", None), (" local ", None), ("h:1", "h:1")])
def test_cluster_address(monkeypatch: pytest.MonkeyPatch, value: str, address: str | None) -> None:
    monkeypatch.setenv("RAY_ADDRESS", value)
    assert cluster_address() == address
