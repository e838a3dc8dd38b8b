"""Train a calibration's missing runs as Ray tasks, store each as it finishes, summarise.

The runs go to the same cluster a search uses: ``$RAY_ADDRESS`` when set
(:func:`nas.cluster.joined_cluster`), else a local Ray started here; each task reserves what
one trial of the search does (``[resources]``, :func:`nas.resources.trial_resources`). A run
already stored (looked up by :attr:`Run.key`) is never trained again, so a calibration that
was killed resumes with what is missing. One line is printed per finished run.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from nas.calibrate.fidelity import setup_of
from nas.calibrate.plan import Run, budgets, calibration_runs, draw_specs
from nas.calibrate.record import open_calibration, run_rows, save_summary, store_run, stored_runs
from nas.calibrate.summary import summarise
from nas.cluster import joined_cluster
from nas.config import SearchConfig
from nas.live import duration
from nas.resources import remote_task, trial_resources
from nas.results.uncertainty import unmeasured
from nas.space import SearchSpace
from workers.one_run import train_once_in_ray


def calibrate(
    config: SearchConfig,
    *,
    specs: int,
    seeds: int,
    stream: TextIO | None = None,
    resamples: int = 1000,
    candidates: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train (or resume) the calibration of ``config``'s proxy (and of the ``candidates``
    proxies: name -> ``[proxy]`` keys replaced) and return its stored summary."""
    import optuna

    from storage import open_storage, resolve_url
    from workers.data import dataset_shape

    stream = stream or sys.stdout
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    channels, size, classes = dataset_shape(config.data)
    space = SearchSpace(
        config.space, in_channels=channels, input_size=size, num_classes=classes,
        proxy_width=config.proxy.width,
    )  # fmt: skip
    drawn = draw_specs(space, specs)
    by_budget = budgets(config, seeds, candidates)
    runs = calibration_runs(drawn, by_budget)
    storage = open_storage(resolve_url(config.search.storage))
    study = open_calibration(storage, config.search.study, create=True)
    done = stored_runs(study)
    todo = list({r.key: r for r in runs if r.key not in done}.values())  # a budget given twice
    print(
        f"nas calibrate: {len(drawn)} specs x {seeds} seeds at {len(by_budget)} budgets: "
        f"{len(runs) - len(todo)} runs stored, {len(todo)} to train",
        file=stream,
        flush=True,
    )
    if todo:
        with joined_cluster():
            _train_all(config, study, todo, stream)
    summary = summarise(
        run_rows(study, runs),
        specs=list(drawn),
        seeds=seeds,
        budgets={name: b[0].to_dict() for name, b in by_budget.items()},
        resamples=resamples,
    )
    summary["setup"] = setup_of(config)
    save_summary(study, summary)
    return summary


def _train_all(config: SearchConfig, study: Any, todo: list[Run], stream: TextIO) -> None:
    """Each of ``todo`` as one Ray task; stored and printed in the order they finish."""
    import ray

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    start = time.monotonic()
    try:
        resources = trial_resources(config)
        _check_fits(resources, ray.cluster_resources())
        task = remote_task(train_once_in_ray, resources)
        data = config.data.to_dict()
        pending = {task.remote(r.spec, data, r.budget): r for r in todo}
        finished = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(ready[0])
            result = ray.get(ready[0])
            store_run(study, run, result)
            finished += 1
            print(_progress(run, result, finished, len(todo), start), file=stream, flush=True)
    finally:
        if started_ray:
            ray.shutdown()


def _check_fits(wanted: dict[str, float], cluster: dict[str, float]) -> None:
    """``ValueError`` naming the ``[resources]`` key when one run cannot fit the cluster at
    all: Ray would queue its tasks forever."""
    for key, resource in (("cpus_per_trial", "CPU"), ("gpus_per_trial", "GPU")):
        need, have = float(wanted.get(resource.lower(), 0.0)), float(cluster.get(resource, 0.0))
        if need > have:
            raise ValueError(
                f"resources.{key} = {need:g}, but the Ray cluster has {have:g} {resource}s: "
                "no calibration run could start; lower it"
            )


def _progress(run: Run, result: dict[str, Any], finished: int, total: int, start: float) -> str:
    """``calibrate: 3/24 proxy se_branch seed 0: 0.71 (9.8 s) | 31s, ETA 3m40s``: times as
    the search's and confirmation's progress lines write them (:func:`nas.live.duration`)."""
    elapsed = time.monotonic() - start
    eta = elapsed / finished * (total - finished)
    what = (
        f"failed: {result['error']}"
        if "error" in result
        else f"{_accuracy(run, result['val_accuracy'])} ({result['wall_time_s']:.1f} s)"
    )
    return (
        f"calibrate: {finished}/{total} {run.label()}: {what} | {duration(elapsed)}, "
        f"ETA {duration(eta)}"
    )


def _accuracy(run: Run, accuracy: float) -> str:
    """One run's accuracy to the digits its validation images support (it has no SE alone)."""
    images = run.budget.get("val_samples")
    return unmeasured(accuracy, val_images=images if isinstance(images, int) else None).text()
