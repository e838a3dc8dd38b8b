"""How Ray Tune runs a search: the checks before it starts, a quiet Ray, the ``Tuner``.

One Tune trial per Optuna trial: our searcher proposes (:mod:`nas.search.searcher`), our
scheduler prunes (:mod:`nas.search.scheduler`), ``max_failures = [resources] max_retries``
(a trial whose worker died or raised is started again by Tune from its last epoch checkpoint,
as the same Tune and Optuna trial, so the study holds one record of it and the budget counts
it once; past the limit the searcher stores it FAIL with the reason), one checkpoint kept per
trial, and nothing of Tune's own output unless ``--verbose``.

Before storage is created or Ray started, each setting a trial would otherwise fail on (or
wait on forever) after the search has started is checked: a CUDA device that is not there, a
dataset file that cannot be read, a trial asking for more CPUs or GPUs than the cluster has
(Ray would wait for them with no output). A driver error once it has started is told in one
line, what failed and what to do (:func:`describe`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from nas.cluster import exception_chain
from nas.config import SearchConfig
from nas.resources import trial_placement, trial_resources
from nas.search.searcher import StudySearcher
from nas.search.trials import SamplerError, one_line

if TYPE_CHECKING:
    from ray import tune

    from nas.search.study import StudyHandle

QUIET_ENV = {
    "RAY_TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_DEDUP_LOGS": "1",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}
"""Environment that keeps Ray quiet and skips Tune's per-trial CSV/JSON/TensorBoard files."""
QUIET_LOGGERS = ("ray.tune.execution.experiment_state",)
"""Loggers silenced unless ``--verbose``. Tune copies its experiment state (for
``Tuner.restore``, which a search never uses: the study is its state) in a background thread
while the driver rewrites those files through temporary ones, and on a busy machine the copy
meets a temporary file already renamed and logs a FileNotFoundError traceback. The trials'
checkpoints are written by the trainables themselves, not by that copy."""


def quiet_ray(verbose: bool) -> None:
    """Set the environment Ray and Tune read at import: quiet unless ``verbose``."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # Tune's new output engine prints an experiment banner even at verbose=0; the legacy
    # engine at verbose=0 prints nothing, so it is the quiet one.
    os.environ["RAY_AIR_NEW_OUTPUT"] = "1" if verbose else "0"
    # A trial that raises is stored FAIL with its reason; its traceback only with --verbose.
    os.environ["TUNE_PRINT_ALL_TRIAL_ERRORS"] = "1" if verbose else "0"
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.CRITICAL)


def build_tuner(
    config: SearchConfig,
    handle: StudyHandle,
    searcher: StudySearcher,
    callbacks: Sequence[Any],
    workdir: str,
    trainable: Callable[[dict[str, Any]], None] | None = None,
    *,
    verbose: bool = False,
) -> tune.Tuner:
    """The Tuner of one search: ``trainable`` (default ``workers.trainable.proxy_trainable``)
    with the trial's resources (per trial: a trial config may carry its own GPU fraction,
    :func:`~nas.resources.trial_placement`), our searcher and scheduler, Tune's files under
    ``workdir``."""
    from ray import tune

    from nas.search.scheduler import PruningScheduler

    if trainable is None:
        from workers.trainable import proxy_trainable

        trainable = proxy_trainable
    wanted = trial_resources(config)
    placement = partial(trial_placement, cpu=wanted["cpu"], gpu=wanted["gpu"])
    return tune.Tuner(
        tune.with_resources(trainable, placement),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=PruningScheduler(handle, searcher.ledger, config.resources.max_trial_seconds),
            num_samples=-1,
            reuse_actors=config.resources.reuse_actors,
            max_concurrent_trials=config.search.concurrency,
        ),
        run_config=tune.RunConfig(
            name=config.search.study,
            storage_path=workdir,
            verbose=2 if verbose else 0,
            callbacks=list(callbacks),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            failure_config=tune.FailureConfig(max_failures=config.resources.max_retries),
        ),
    )


def stop_like_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM stops the search as Ctrl-C does (Tune stops, trials in flight are queued again,
    Ray's working folder is removed, exit 130); Ray's own handler would exit with 15."""
    os.kill(os.getpid(), signal.SIGINT)


def on_sigterm(handler: Any) -> Any:
    """Install ``handler`` for SIGTERM (main thread only); returns the one it replaces."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler) if handler is not None else None


class ResourcesMissing(ValueError):
    """A trial asks for more of a resource than the cluster has (a user error, exit 2)."""


def check_before_storage(config: SearchConfig, wanted: Mapping[str, float]) -> None:
    """Device, data files and, for a local Ray this process will start, resources."""
    import torch

    from workers.data import DATA, check_readable

    if config.proxy.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "proxy.device: 'cuda' but no CUDA device is visible here; use 'auto' or 'cpu'"
        )
    check_readable(config.data, DATA)
    if not os.environ.get("RAY_ADDRESS") and not _ray_running():
        check_resources(wanted, {"CPU": _local_cpus(), "GPU": torch.cuda.device_count()})


def check_resources(wanted: Mapping[str, float], cluster: Mapping[str, float]) -> None:
    """``ResourcesMissing`` naming the ``[resources]`` key when one trial cannot fit at all.

    ``wanted`` is ``{"cpu": c, "gpu": g}`` per trial; ``cluster`` is Ray's
    ``cluster_resources()`` (``{"CPU": n, "GPU": m, ...}``).
    """
    for key, resource, noun in (
        ("cpus_per_trial", "CPU", "CPUs"),
        ("gpus_per_trial", "GPU", "GPUs"),
    ):
        need, have = float(wanted.get(resource.lower(), 0.0)), float(cluster.get(resource, 0.0))
        if need > have:
            where = f"the cluster has {have:g} {noun}" if have else f"the cluster has no {noun}"
            fix = (
                "lower it"
                if have
                else "set it to 0" + (" or leave it unset" if noun == "GPUs" else "")
            )
            raise ResourcesMissing(
                f"resources.{key} = {need:g}, but {where}: no trial could start; {fix}"
            )


def _ray_running() -> bool:
    import ray

    return bool(ray.is_initialized())


def _local_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


RESUME = "run the same command to continue (completed trials are kept)"


def describe(exc: BaseException) -> tuple[str, str]:
    """``("<what failed>: <why>", "<what to do>")`` for an exception raised out of the driver."""
    chain = list(exception_chain(exc))
    for error in chain:
        if isinstance(error, SamplerError):
            advice = f"try another --sampler (--verbose shows the traceback), then {RESUME}"
            return str(error), advice
    for error in chain:
        if _is_storage_error(error):
            advice = f"check that the database is reachable and writable, then {RESUME}"
            return f"storage failed: {_line(error)}", advice
    for error in chain:
        if type(error).__module__.startswith("ray."):
            advice = f"check the cluster (ray status), then {RESUME}"
            return f"Ray failed: {_line(error)}", advice
    return f"the search driver failed: {_line(chain[-1])}", f"--verbose shows why; {RESUME}"


def _is_storage_error(error: BaseException) -> bool:
    import optuna
    import sqlalchemy.exc

    return isinstance(
        error, sqlalchemy.exc.SQLAlchemyError | optuna.exceptions.StorageInternalError
    )


def _line(error: BaseException) -> str:
    """``Type: message``; for SQLAlchemy's wrapped database errors, the database's own message
    (their last line is only a link to SQLAlchemy's error docs)."""
    import sqlalchemy.exc

    cause = error.orig if isinstance(error, sqlalchemy.exc.DBAPIError) else None
    return f"{type(error).__name__}: {one_line(str(cause if cause is not None else error))}"
