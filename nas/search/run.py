"""``run_search(config)``: the whole ``nas search`` job, Optuna proposing and Ray Tune training.

One process drives: the study (:mod:`nas.search.study`), our searcher and pruning scheduler
(:mod:`nas.search.searcher`, :mod:`nas.search.scheduler`), sharing one trial ledger
(:mod:`nas.search.ledger`), and a progress line (:mod:`nas.search.progress`). Ray Tune
(:mod:`nas.search.tuner`) runs ``workers.trainable.proxy_trainable`` on as many trials at once
as ``concurrency`` and the resources allow. Ray's own working files (its checkpoints) go to
``[resources] storage_path`` (kept) or else a temporary directory removed at the end: the
trained weights are kept in the study's artifact store either way. Confirming the front after
the search is the caller's step (:mod:`nas.pipeline`).
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from nas.cluster import joined_cluster
from nas.config import SearchConfig
from nas.packing import AUTO
from nas.resources import GpuShare, trial_resources
from nas.results.front import StudyFront
from nas.results.replica_noise import measure_proxy_noise
from nas.search.ledger import counts_to_budget, finished_count
from nas.search.searcher import StudySearcher
from nas.search.study import StudyHandle, prepare_study
from nas.search.tuner import (
    ResourcesMissing,
    check_before_storage,
    check_resources,
    describe,
    on_sigterm,
    quiet_ray,
    stop_like_ctrl_c,
)
from nas.space import SearchSpace


class SearchFailed(Exception):
    """The search stopped on a driver error (sampler, storage, Ray); ``str()`` is the one line
    to print: what failed and what to do (:func:`nas.search.tuner.describe`); ``--verbose``
    prints the whole traceback."""


@dataclass
class SearchResult:
    """What one ``nas search`` left in the study."""

    study: str
    storage_url: str
    target: int
    finished: int
    counts: dict[str, int]
    front: StudyFront
    notes: list[str] = field(default_factory=list)
    ran_trials: bool = True
    wall_time_s: float = 0.0
    interrupted: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    """``fail_reason -> trials`` of the study's FAIL trials (interrupted ones left out)."""


def run_search(
    config: SearchConfig,
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
    trainable: Callable[[dict[str, Any]], None] | None = None,
    opening: Sequence[str] = (),
) -> SearchResult:
    """Run (or resume) the search ``config`` describes until the study has its trial budget.

    ``trainable`` replaces ``workers.trainable.proxy_trainable`` (for other trainers). ``nas
    search: study 'S' in <storage>``, then ``opening``, are printed once the storage is open.
    Raises ``ValueError`` for user errors (bad data or proxy settings, bad storage URL, a
    ``$RAY_ADDRESS`` cluster that cannot be joined: before any study is written) and
    :class:`SearchFailed` when the driver fails (sampler, storage, Ray):
    the trials in flight are then FAIL (interrupted) and queued again, completed ones kept.
    """
    quiet_ray(verbose)  # before Ray is imported: it reads these variables then
    with joined_cluster(verbose=verbose):
        return _run_search(config, verbose, stream, trainable, opening)


def _run_search(
    config: SearchConfig,
    verbose: bool,
    stream: TextIO | None,
    trainable: Callable[[dict[str, Any]], None] | None,
    opening: Sequence[str],
) -> SearchResult:
    import optuna

    from storage import open_storage, resolve_url
    from storage.urls import holds_password, shareable_url, shown_url

    stream = stream or sys.stdout
    start = time.monotonic()
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    if not verbose:
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    check_before_storage(config, trial_resources(config))
    data, budget, shape = _trial_settings(config)
    space = SearchSpace(
        config.space,
        in_channels=shape[0],
        input_size=shape[1],
        num_classes=shape[2],
        proxy_width=budget.get("width"),
    )
    # Tune pickles the config and URL into its experiment state: the password goes by name only
    url = shareable_url(resolve_url(config.search.storage))
    if config.search.storage is not None and holds_password(config.search.storage):
        config = config.with_overrides(storage=url)  # also what the study stores as its config
    storage = open_storage(url)  # only now: a config that fails a check leaves no database
    for line in (f"study {config.search.study!r} in {shown_url(url)}", *opening):
        print(f"nas search: {line}", file=stream, flush=True)
    epochs = int(budget["epochs"])
    study, notes = prepare_study(config, storage, space, epochs=epochs)
    notes = [*space.notes, *notes]
    handle = StudyHandle(config, url, epochs, study)

    def note(text: str, *, keep: bool = True) -> None:
        if keep:
            notes.append(text)
        print(f"nas search: {text}", file=stream, flush=True)

    for text in notes:
        note(text, keep=False)
    target = config.search.trials
    ran, stopped = finished_count(study) < target, 0
    if ran:
        stopped = _run_ray(config, handle, space, data, budget, verbose, stream, trainable)
        if stopped:
            note(
                f"stopped early: {stopped} trials in flight were marked FAIL (interrupted) and "
                "queued again; run the same command to continue"
            )
    else:
        note(f"study already has {finished_count(study)} finished trials (budget {target})")
    note(measure_proxy_noise(study, config, budget)[1])
    result = _result(study, storage, url, target, notes, time.monotonic() - start)
    result.ran_trials = ran
    result.interrupted = stopped if ran else 0
    return result


def _trial_settings(
    config: SearchConfig,
) -> tuple[dict[str, Any], dict[str, Any], tuple[int, int, int]]:
    """The validated ``data``/``budget`` dicts trials get, and the dataset's shape."""
    from workers.data import dataset_shape

    shape = tuple(dataset_shape(config.data))
    assert len(shape) == 3, "dataset_shape returns (in_channels, input_size, num_classes)"
    return config.data.to_dict(), config.proxy.to_dict(), (shape[0], shape[1], shape[2])


def _run_ray(
    config: SearchConfig,
    handle: StudyHandle,
    space: SearchSpace,
    data: dict[str, Any],
    budget: dict[str, Any],
    verbose: bool,
    stream: TextIO,
    trainable: Callable[[dict[str, Any]], None] | None,
) -> int:
    """Train until the budget is reached; returns how many trials were cut short.

    Raises :class:`SearchFailed` (one line: what failed, what to do) on a driver error.
    """
    quiet_ray(verbose)
    import ray

    from nas.search.progress import ProgressLine
    from nas.search.tuner import build_tuner
    from storage import artifact_store

    share = _gpu_share(config, handle)
    searcher = StudySearcher(
        handle,
        space,
        data=data,
        budget=budget,
        target=config.search.trials,
        artifacts=artifact_store(handle.url, config.search.artifacts),
        gpu_share=share,
    )
    progress = ProgressLine(
        searcher.ledger.tally,
        target=config.search.trials,
        directions=config.objectives.directions,
        stream=stream,
    )
    if share is not None:
        share.say = progress.note
        progress.note(share.packing.line())
    elif config.resources.gpus_per_trial == AUTO:
        progress.note("gpus_per_trial auto: 0 (no CUDA device visible here, or a CPU proxy)")
    started_ray, failure = False, None
    previous = on_sigterm(stop_like_ctrl_c)
    workdir = config.resources.storage_path or tempfile.mkdtemp(prefix="nas-search-ray-")
    try:
        if not ray.is_initialized():
            ray.init(
                include_dashboard=False,
                log_to_driver=verbose,
                logging_level=logging.INFO if verbose else logging.ERROR,
            )
            started_ray = True
        check_resources(trial_resources(config), ray.cluster_resources())
        on_sigterm(stop_like_ctrl_c)  # again: ray.init installs its own (exit status 15)
        callbacks = [progress, searcher.heartbeat]
        build_tuner(config, handle, searcher, callbacks, workdir, trainable, verbose=verbose).fit()
    except ResourcesMissing:
        raise
    except Exception as exc:  # Ctrl-C is Tune's to handle: it stops and returns
        failure = exc
    finally:
        on_sigterm(previous)
        stopped, unmarked = _interrupt(searcher)
        progress.close()
        if started_ray:
            ray.shutdown()
        if config.resources.storage_path is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if failure is not None:
        what, advice = describe(failure)
        raise SearchFailed(f"{what}; {_in_flight(stopped, unmarked)}{advice}") from failure
    return stopped


def _gpu_share(config: SearchConfig, handle: StudyHandle) -> GpuShare | None:
    """The live GPU share of ``gpus_per_trial = "auto"``, ``None`` when it is a number or
    unset, or when trials get no GPU (none visible, or ``[proxy] device = "cpu"``)."""
    if config.resources.gpus_per_trial != AUTO or not trial_resources(config)["gpu"]:
        return None
    return GpuShare.of_study(handle.study, config.search.concurrency)


def _interrupt(searcher: StudySearcher) -> tuple[int, int]:
    """Fail and queue again the trials in flight: ``(marked, left RUNNING)``.

    With the storage down nothing can be marked; the trials stay RUNNING, and the next
    ``nas search`` on the study fails and queues them (:func:`nas.search.study.prepare_study`).
    """
    in_flight = len(searcher.ledger.flying)
    try:
        return searcher.interrupt_all(), 0
    except Exception:
        return 0, in_flight


def _in_flight(marked: int, unmarked: int) -> str:
    if unmarked:
        return f"{_trials(unmarked)} in flight left RUNNING (the next run queues them again); "
    if marked:
        return f"{_trials(marked)} in flight marked FAIL (interrupted) and queued again; "
    return ""


def _trials(n: int) -> str:
    return f"{n} trial" if n == 1 else f"{n} trials"


def _result(
    study: Any, storage: Any, url: str, target: int, notes: list[str], wall: float
) -> SearchResult:
    from optuna.trial import TrialState

    from storage import redact

    trials = study.get_trials(deepcopy=False)
    counts = {s.name: sum(1 for t in trials if t.state == s) for s in TrialState}
    reasons = Counter(
        str(t.user_attrs.get("fail_reason") or "no reason stored")
        for t in trials
        if t.state == TrialState.FAIL and counts_to_budget(t)
    )
    return SearchResult(
        study=study.study_name,
        storage_url=redact(url),
        target=target,
        finished=finished_count(study),
        counts={k: v for k, v in counts.items() if v},
        front=StudyFront.load(storage, study.study_name),
        notes=notes,
        wall_time_s=wall,
        failures=dict(reasons.most_common()),
    )
