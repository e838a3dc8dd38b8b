"""A calibration in the storage: the study ``<study>:calibration``, one trial per run.

Each finished run is one trial, added whole when it finishes (never RUNNING, so a killed
calibration leaves nothing half-written): COMPLETE with value ``val_accuracy`` (the last
epoch's), or FAIL when training failed; user attributes ``key`` (:attr:`Run.key`),
``spec_name``, ``spec``, ``budget_name`` (``proxy`` or ``reference``), ``budget``
(``ProxyBudget.to_dict()``), ``seed``, ``metrics`` (``val_accuracy``, ``wall_time_s`` and
every ``signal/<name>``) and, on FAIL, ``error``. The summary the command prints is the
study's user attribute ``calibration`` (:func:`save_summary`), which ``--show`` prints again
and ``nas search`` reads. docs/study-format.md describes both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.calibrate.plan import Run

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage

SUFFIX = ":calibration"
SUMMARY = "calibration"
"""The study user attribute holding the summary."""


def calibration_name(study: str) -> str:
    """The calibration study of search study ``study``."""
    return study + SUFFIX


def open_calibration(storage: BaseStorage, study: str, *, create: bool) -> optuna.Study:
    """The calibration study of ``study``; ``ValueError`` when it is missing and not ``create``."""
    import optuna

    name = calibration_name(study)
    if not create:
        names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
        if name not in names:
            raise ValueError(
                f"no calibration of study {study!r} in this storage: run `nas calibrate CONFIG`"
            )
        return optuna.load_study(study_name=name, storage=storage)
    return optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True
    )


def stored_runs(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """``Run.key -> trial`` of every finished run (COMPLETE or FAIL) the study holds."""
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    return {
        str(t.user_attrs["key"]): t
        for t in study.get_trials(deepcopy=False, states=finished)
        if "key" in t.user_attrs
    }


def store_run(study: optuna.Study, run: Run, result: dict[str, Any]) -> None:
    """Add ``run``'s finished trial: ``result`` is the task's ``metrics`` or ``{"error": ...}``."""
    import optuna

    attrs: dict[str, Any] = {
        "key": run.key,
        "spec_name": run.spec_name,
        "spec": run.spec,
        "budget_name": run.budget_name,
        "budget": run.budget,
        "seed": run.seed,
    }
    if "error" in result:
        attrs["error"] = str(result["error"])
        trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs=attrs)
    else:
        attrs["metrics"] = result
        trial = optuna.trial.create_trial(value=float(result["val_accuracy"]), user_attrs=attrs)
    study.add_trial(trial)


def run_rows(study: optuna.Study, runs: list[Run]) -> list[dict[str, Any]]:
    """``{"spec", "budget", "seed", "metrics"}`` of every COMPLETE stored run among ``runs``."""
    stored = stored_runs(study)
    rows = []
    for run in runs:
        trial = stored.get(run.key)
        if trial is not None and "metrics" in trial.user_attrs:
            rows.append(
                {
                    "spec": run.spec_name,
                    "budget": run.budget_name,
                    "seed": run.seed,
                    "metrics": trial.user_attrs["metrics"],
                }
            )
    return rows


def save_summary(study: optuna.Study, summary: dict[str, Any]) -> None:
    study.set_user_attr(SUMMARY, summary)


def load_summary(storage: BaseStorage, study: str) -> dict[str, Any] | None:
    """The stored summary of ``study``'s calibration, ``None`` when it has none."""
    import optuna

    name = calibration_name(study)
    if name not in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
        return None
    summary = optuna.load_study(study_name=name, storage=storage).user_attrs.get(SUMMARY)
    return summary if isinstance(summary, dict) else None
