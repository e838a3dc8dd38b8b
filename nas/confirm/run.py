"""Retrain chosen trials of a study at the confirmation budgets, as Ray tasks, and store them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import optuna

from nas.config import SearchConfig
from nas.confirm.budget import confirm_budgets
from nas.confirm.noise import report_noise
from nas.confirm.progress import ConfirmProgress, run_estimate
from nas.confirm.store import (
    Confirmation,
    confirmations,
    progress_line,
    save,
)
from nas.resources import remote_task, runs_at_once, trial_resources
from nas.results.front import StudyFront
from storage.internals import storage_of
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.one_run import train_once_in_ray


def confirm_trials(
    study: optuna.Study,
    trials: Sequence[optuna.trial.FrozenTrial],
    data: DataConfig,
    budgets: Sequence[ProxyBudget],
    *,
    resources: dict[str, float],
    stream: TextIO | None = None,
    redo: bool = False,
) -> list[Confirmation]:
    """Confirm each of ``trials`` (COMPLETE, with a stored ``spec``) at every budget.

    A trial already confirmed at the same budgets is skipped unless ``redo``. Each run is a
    Ray task (``resources``: ``{"cpu": c, "gpu": g}`` per run), so confirmation uses the
    same cluster as the search. A run that fails (diverged, out of memory) leaves its trial
    unconfirmed and is reported on ``stream``; the others are stored as they finish, so an
    interrupted confirmation keeps what it did.
    """
    done = confirmations(study)
    wanted = [b.to_dict() for b in budgets]
    todo = [t for t in trials if redo or not _confirmed_at(done.get(t.number), wanted)]
    if not todo:
        return [done[t.number] for t in trials if t.number in done]
    import ray

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        task = remote_task(train_once_in_ray, resources)
        order = [(t, b) for t in todo for b in wanted]
        progress = ConfirmProgress(
            [run_estimate(t.user_attrs, b) for t, b in order],
            slots=max(1, runs_at_once(resources, ray.cluster_resources())),
            members=len(todo),
            stream=stream,
        )
        progress.note(progress.opening(wanted[0], len(wanted)))
        progress.draw()
        pending = {
            task.remote(t.user_attrs["spec"], data.to_dict(), b): (i, t)
            for i, (t, b) in enumerate(order)
        }
        runs: dict[int, list[dict[str, Any]]] = {t.number: [] for t in todo}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                if not ready:
                    progress.tick()
                    continue
                index, trial = pending.pop(ready[0])
                runs[trial.number].append(ray.get(ready[0]))
                progress.run_ended(index)
                if len(runs[trial.number]) == len(wanted):
                    stored = _store(study, trial, runs[trial.number], wanted[0], progress.note)
                    progress.member_ended(stored)
                progress.draw()
        finally:
            progress.close()
    finally:
        if started_ray:
            ray.shutdown()
    done = confirmations(study)
    return [done[t.number] for t in trials if t.number in done]


def _confirmed_at(done: Confirmation | None, budgets: list[dict[str, Any]]) -> bool:
    return done is not None and done.budget == budgets[0] and len(done.accuracies) == len(budgets)


def _store(
    study: optuna.Study,
    trial: optuna.trial.FrozenTrial,
    runs: list[dict[str, Any]],
    budget: dict[str, Any],
    say: Callable[[str], None],
) -> bool:
    """Store the member's confirmation from its ``runs``; ``False`` (and nothing stored) when a
    run failed. ``say`` gets the member's line."""
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        say(f"trial {trial.number}: not confirmed: {errors[0]}")
        return False
    accuracies = [float(r["val_accuracy"]) for r in runs]
    confirmation = Confirmation.of(
        trial, accuracies, budget, sum(float(r["wall_time_s"]) for r in runs)
    )
    save(study, confirmation)
    say(progress_line(study, confirmation))
    return True


def confirm_study(
    config: SearchConfig,
    study: optuna.Study,
    *,
    stream: TextIO | None = None,
    redo: bool = False,
) -> list[Confirmation]:
    """Confirm the front of ``study`` as ``config`` says (``[confirm]``, ``[proxy]``, ``[data]``).

    The candidates are the front's members, which include the trials the proxy's measured
    noise cannot rule out (the noise-aware front, :class:`~nas.results.front.StudyFront`), the
    highest proxy score first, at most ``[confirm] members`` of them; each is trained
    ``[confirm] seeds`` times. The seed runs then measure the confirmation's own noise
    (``noise:confirm``, :mod:`nas.confirm.noise`), which is printed on ``stream`` and goes into
    each member's dashboard note as ``mean ± SE (n=seeds)``.
    """
    front = StudyFront.load(storage_of(study), study.study_name, rank_by="proxy")
    trials = study.get_trials(deepcopy=False)
    members = [trials[m.number] for m in front.most_accurate_first()]
    if config.confirm.members is not None:
        members = members[: config.confirm.members]
    budgets = confirm_budgets(
        config.proxy,
        scale=config.confirm.scale,
        val_samples=config.confirm.val_samples,
        seeds=config.confirm.seeds,
    )
    resources = trial_resources(config)  # the search's: a GPU share when one is visible
    done = confirm_trials(
        study, members, config.data, budgets, resources=resources, stream=stream, redo=redo
    )
    if done:
        report_noise(study, done, budgets[0].to_dict(), stream)
    return done
