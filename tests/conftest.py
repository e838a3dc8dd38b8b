"""Session-wide hooks: end the pytest process without interpreter teardown.

The suite starts and stops a local Ray many times in this one process (a module's
``ray_cluster``, the trainable tests, ``run_search`` itself), and a CI run (2026-12-03) died
with SIGSEGV after its last test had passed and its summary was printed: in interpreter
finalisation, most likely in Ray's C++ core worker, which is not safe to destruct after
restarts in one process (ray-project/ray#31145); Ray's own worker processes leave with
``os._exit`` and never destruct it (ray-project/ray#18899). So once pytest has finished
(results reported, plugins unconfigured), a Ray still up is shut down the normal way and the
process leaves with pytest's exit status, skipping finalisation. A crash during a test still
fails the run, with every thread's stack from faulthandler (``.ci/test`` sets
``PYTHONFAULTHANDLER``). ``NAS_TEST_FULL_TEARDOWN=1`` exits normally instead.

Each test process (pytest, or each pytest-xdist worker) keeps its Ray sessions in a folder of
its own (``RAY_TMPDIR``, inherited by the ``nas`` processes tests start): a ``ray.init()``
without an address joins the cluster whose address the last ``ray start`` (or
``ray.cluster_utils.Cluster``) wrote under it, so with one shared ``/tmp/ray`` one worker's
search joined another's two-node test cluster, and died with it; a developer's own running
cluster would be joined the same way.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import pytest

_EXIT_STATUS: list[int] = []
_RAY_TMPDIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None and config.getoption("numprocesses", 0):
        return  # pytest-xdist's controller: it runs no test
    if worker is not None:
        # pytest-xdist runs two of these on two cores: a torch of two OpenMP threads in each
        # spin-waits for a core the other holds (one 14 s test took 127 s). Ray sets its own
        # workers' threads from their CPUs; `nas train --threads` sets its own.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "RAY_TMPDIR" not in os.environ:  # else the caller's, kept
        # Short: Ray's Unix sockets live under it (a path may hold ~107 bytes).
        path = tempfile.mkdtemp(prefix=f"r-{worker or 'main'}-", dir="/tmp")
        os.environ["RAY_TMPDIR"] = config.stash[_RAY_TMPDIR] = path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-matrix",
        action="store_true",
        help="run every sampler with every pruner in tests/nas/test_search_matrix.py, not only "
        "each with the other's default (.ci/newest runs it on the newest versions)",
    )


@pytest.fixture(autouse=True)
def _storage_password_kept() -> Iterator[None]:
    """``$NAS_STORAGE_PASSWORD`` as it was before each test: an in-process ``nas search`` on a
    URL holding a password moves it there (``storage.urls.shareable_url``)."""
    before = os.environ.get("NAS_STORAGE_PASSWORD")
    yield
    if before is None:
        os.environ.pop("NAS_STORAGE_PASSWORD", None)
    else:
        os.environ["NAS_STORAGE_PASSWORD"] = before


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a ``slow`` test run first, each module's tests kept together and in
    order: ``.ci/test`` runs the suite on two processes (pytest-xdist, ``--dist worksteal``),
    and a long test started last would leave the other process idle until it ends."""
    slow = {getattr(item, "module", None) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: getattr(item, "module", None) not in slow)


@pytest.fixture(scope="module")
def gpu_ray() -> Iterator[None]:
    """A local Ray of two CPUs and one GPU, for the module. The GPU need not exist: Ray only
    counts it, so what Ray does with a GPU share (the ids it assigns, the worker processes such
    runs get) is tested on a CPU too; on a GPU machine it is the real card."""
    import ray

    if ray.is_initialized():
        if ray.cluster_resources().get("GPU", 0) < 1:
            pytest.skip("a Ray without GPUs is already running in this process")
        yield
        return
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
    if _RAY_TMPDIR in config.stash:
        shutil.rmtree(config.stash[_RAY_TMPDIR], ignore_errors=True)
    if not _EXIT_STATUS or os.environ.get("NAS_TEST_FULL_TEARDOWN") == "1":
        return  # not a finished session (e.g. --help), or asked for a normal exit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS[-1])
