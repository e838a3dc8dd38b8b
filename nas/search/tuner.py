"""How Ray Tune runs a search: the ``Tuner`` and a quiet Ray.

One Tune trial per Optuna trial: our searcher proposes (:mod:`nas.search.searcher`), our
scheduler prunes (:mod:`nas.search.scheduler`), ``max_failures=0`` (a trial that raises is
stored FAIL with its reason by the searcher, not retried by Tune), one checkpoint kept per
trial, and nothing of Tune's own output unless ``--verbose``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from nas.config import SearchConfig
from nas.search.resources import trial_resources

if TYPE_CHECKING:
    from ray import tune

    from nas.search.handle import StudyHandle
    from nas.search.searcher import StudySearcher

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
    with the trial's resources, our searcher and scheduler, Tune's files under ``workdir``."""
    from ray import tune

    from nas.search.scheduler import PruningScheduler

    if trainable is None:
        from workers.trainable import proxy_trainable

        trainable = proxy_trainable
    return tune.Tuner(
        tune.with_resources(trainable, trial_resources(config)),
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
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
