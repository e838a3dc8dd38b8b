"""Where confirmed accuracies live in a study, and how they are read back.

Optuna refuses to change a finished trial, so a confirmation is a study user attribute,
``confirmed:<trial number>`` (see ``docs/study-format.md``); optuna-dashboard shows study user
attributes, and the trial's dashboard note says the same in words.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

import optuna

from nas.objectives import SCORE_COLUMN
from nas.results.front import CONFIRMED_PREFIX
from nas.results.front_noise import (
    ConfirmedRuns,
    confirmed_estimate,
    own_estimate,
    proxy_images,
    proxy_runs,
    proxy_value,
)
from nas.results.noise_record import records
from nas.results.uncertainty import Estimate


@dataclass(frozen=True)
class Confirmation:
    """One front member retrained at the confirmation budget.

    Attributes:
        number: the study's trial number.
        val_accuracy: mean final validation accuracy over ``accuracies`` (one per seed).
        proxy_accuracy: the trial's own (proxy) objective value, for comparison.
        budget: the confirmation budget (``ProxyBudget.to_dict()`` of the first seed).
        wall_time_s: training time summed over seeds.
    """

    number: int
    val_accuracy: float
    accuracies: tuple[float, ...]
    proxy_accuracy: float
    budget: dict[str, Any]
    wall_time_s: float

    @classmethod
    def of(
        cls,
        trial: optuna.trial.FrozenTrial,
        accuracies: list[float],
        budget: dict[str, Any],
        wall_time_s: float,
    ) -> Confirmation:
        assert accuracies and trial.values, trial.number
        return cls(
            trial.number,
            statistics.fmean(accuracies),
            tuple(accuracies),
            float(trial.values[SCORE_COLUMN]),
            budget,
            wall_time_s,
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["accuracies"] = list(self.accuracies)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Confirmation:
        return cls(**{**data, "accuracies": tuple(data["accuracies"])})


def confirmations(study: optuna.Study) -> dict[int, Confirmation]:
    """``trial number -> Confirmation`` of every confirmed trial of ``study``."""
    out = {}
    for key, value in study.user_attrs.items():
        if key.startswith(CONFIRMED_PREFIX):
            confirmation = Confirmation.from_json(value)
            out[confirmation.number] = confirmation
    return out


def estimate_of(study: optuna.Study, confirmation: Confirmation) -> Estimate:
    """A confirmation's mean with its standard error, as ``nas pareto`` reads it."""
    runs = ConfirmedRuns(confirmation.accuracies, confirmation.budget)
    return confirmed_estimate(runs, records(study.user_attrs))


def progress_line(study: optuna.Study, confirmation: Confirmation) -> str:
    """``trial 3: confirmed 0.81 ± 0.01 (n=2), SE of its own runs (proxy ...)``: the line
    ``nas confirm`` prints as a member finishes.

    Its SE is that of the member's own runs (:func:`~nas.results.front_noise.own_estimate`),
    said so, and never the study's pooled ``noise:confirm``: that record is measured again
    once every member has finished, with these runs in it, so an SE from the old record would
    differ from the one the final table shows for the same member. One run has no SE.
    """
    value = own_estimate(ConfirmedRuns(confirmation.accuracies, confirmation.budget))
    own = ", SE of its own runs" if value.se is not None else ""
    return (
        f"trial {confirmation.number}: confirmed {value}{own} "
        f"(proxy {proxy_score(study, confirmation)})"
    )


def proxy_score(study: optuna.Study, confirmation: Confirmation) -> str:
    """``neg_tail_loss -1.12``: the trial's proxy score under the study's metric name, with no
    more digits than the proxy's noise (or its validation images) supports.

    A replicated reference design (trained at more than one proxy seed, docs/noise.md) shows
    the mean of its seeds with n = seeds, the value ``nas pareto`` and ``nas export`` give it,
    not the trial's own first-seed run (``proxy_accuracy``)."""
    names = study.metric_names
    name = names[SCORE_COLUMN] if names else "score"
    attrs = study.user_attrs
    runs = _proxy_runs(study, confirmation)
    score = proxy_value(runs, name, records(attrs), proxy_images(attrs))
    return f"{name} {score.text()}"


def _proxy_runs(study: optuna.Study, confirmation: Confirmation) -> list[float]:
    """The confirmed trial's proxy score at each seed, folded as the front folds a replicated
    spec (:func:`nas.results.replicas.fold_replicas`); its own run when it has no replicas."""
    from nas.results.replicas import fold_replicas
    from storage.rows import TrialRow

    spec_id = study.trials[confirmation.number].user_attrs.get("spec_id")
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    rows = [
        TrialRow(t.number, "COMPLETE", tuple(t.values), t.user_attrs)
        for t in complete
        if t.values and spec_id is not None and t.user_attrs.get("spec_id") == spec_id
    ]
    for row in fold_replicas(rows, SCORE_COLUMN):
        if row.number == confirmation.number:
            return proxy_runs(row, SCORE_COLUMN)
    return [confirmation.proxy_accuracy]


def save(study: optuna.Study, confirmation: Confirmation) -> None:
    """Store ``confirmation`` (replacing an earlier one of the trial) and note it on the trial."""
    study.set_user_attr(f"{CONFIRMED_PREFIX}{confirmation.number}", confirmation.to_json())
    write_note(study, confirmation, estimate_of(study, confirmation))


def write_note(study: optuna.Study, confirmation: Confirmation, value: Estimate) -> None:
    """The trial's dashboard note: ``value`` as ``0.795 ± 0.006 (n=2)`` (the confirmation's
    measured noise, else its seeds' own spread; one run: the bare mean and that it carries no
    measured noise), the budget and the runs per seed at the same digits."""
    from optuna_dashboard import save_note

    from storage.internals import trial_id

    frozen = study.trials[confirmation.number]
    budget = confirmation.budget
    per_seed = ", ".join(f"{a:.{value.decimals()}f}" for a in confirmation.accuracies)
    save_note(
        optuna.trial.Trial(study, trial_id(frozen)),
        f"Confirmed validation accuracy **{value.format()}** "
        f"(proxy {proxy_score(study, confirmation)}), trained {budget['epochs']} epochs on "
        f"{budget['train_samples'] or 'all'} images, validated on "
        f"{budget['val_samples'] or 'all'}; per seed: {per_seed}.",
    )
