"""Every documented ``[sampler]``/``[pruner]`` option of Optuna's own samplers and pruners does
what Optuna says it does, once it has come through the config.

Each config is read by ``SearchConfig.from_dict`` and built by ``sampler_for``/``pruner_for``,
the functions ``nas search`` builds its study with; the checks are on the behaviour of the
real Optuna objects on a real (in-memory) multi-objective study, written the way the search
writes it (the epoch's signal as an intermediate value, ``[accuracy, macs]`` when COMPLETE).
Each option is checked against the default it overrides, so a dropped option fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.search.study import pruner_for, sampler_for
from storage.internals import storage_of, trial_id

optuna.logging.set_verbosity(optuna.logging.WARNING)
EPOCHS = 9
"""The proxy's epochs, the pruners' ``max_resource``: past every curve below."""


def _config(kind: str, name: str, options: dict[str, Any]) -> SearchConfig:
    return SearchConfig.from_dict({"search": {kind: name}, kind: options})


def _study(pruner: optuna.pruners.BasePruner) -> optuna.Study:
    return optuna.create_study(directions=["maximize", "minimize"], pruner=pruner)


def _train(study: optuna.Study, curve: Sequence[float]) -> optuna.trial.FrozenTrial:
    """One trial as the search drives it: a pruning decision after each epoch's signal."""
    trial = study.ask()
    storage = storage_of(study)
    for epoch, value in enumerate(curve, start=1):
        storage.set_trial_intermediate_value(trial_id(trial), epoch, value)
        if study.pruner.prune(study, storage.get_trial(trial_id(trial))):
            return study.tell(trial, state=TrialState.PRUNED)
    return study.tell(trial, [max(curve), 10**8])


def _epochs_trained(
    name: str, options: dict[str, Any], before: Sequence[Sequence[float]], judged: Sequence[float]
) -> int:
    """How many epochs ``judged`` trains after the ``before`` curves have (COMPLETE or not)."""
    study = _study(pruner_for(_config("pruner", name, options), EPOCHS))
    for curve in before:
        _train(study, curve)
    return len(_train(study, judged).intermediate_values)


GOOD, BAD = [0.9] * 5, [0.1] * 5


def test_median_n_warmup_steps_holds_pruning_off_until_that_epoch() -> None:
    first = {"n_startup_trials": 1}
    assert _epochs_trained("median", first, [GOOD], BAD) == 1
    assert _epochs_trained("median", {**first, "n_warmup_steps": 3}, [GOOD], BAD) == 3


def test_median_interval_steps_skips_the_epochs_between_checks() -> None:
    rising, flat = [0.1, 0.2, 0.9, 0.9, 0.9], [0.15] * 5  # above the median at 1, below from 2
    first = {"n_startup_trials": 1}
    assert _epochs_trained("median", first, [rising], flat) == 2
    assert _epochs_trained("median", {**first, "interval_steps": 3}, [rising], flat) == 3


def test_median_n_min_trials_needs_that_many_curves_at_the_epoch() -> None:
    first = {"n_startup_trials": 1}
    assert _epochs_trained("median", first, [GOOD], BAD) == 1
    assert _epochs_trained("median", {**first, "n_min_trials": 2}, [GOOD], BAD) == len(BAD)
    assert _epochs_trained("median", {**first, "n_min_trials": 2}, [GOOD, GOOD], BAD) == 1


def test_successive_halving_min_early_stopping_rate_moves_the_first_rung() -> None:
    assert _epochs_trained("successive_halving", {}, [GOOD], BAD) == 1
    later = {"min_early_stopping_rate": 1}  # rung 0 at min_resource * 3**1 epochs
    assert _epochs_trained("successive_halving", later, [GOOD], BAD) == 3


def test_successive_halving_bootstrap_count_prunes_until_a_rung_has_that_many() -> None:
    assert _epochs_trained("successive_halving", {}, [], GOOD) == len(GOOD)
    assert _epochs_trained("successive_halving", {"bootstrap_count": 1}, [], GOOD) == 1
    assert _epochs_trained("successive_halving", {"bootstrap_count": 1}, [GOOD], GOOD) > 1


def test_hyperband_bootstrap_count_reaches_every_bracket() -> None:
    def pruned(options: dict[str, Any]) -> int:
        study = _study(pruner_for(_config("pruner", "hyperband", options), EPOCHS))
        ended = [_train(study, [0.5] * (EPOCHS - 1)) for _ in range(6)]
        return sum(t.state == TrialState.PRUNED for t in ended)

    assert pruned({}) == 0, "equal curves are always promoted"
    assert pruned({"bootstrap_count": 1}) > 0, "the first of a bracket at its rung is pruned"


# --- TPE: multivariate and group decide the space it models jointly --------------------------

CHOICES = {
    "block": CategoricalDistribution(["se", "eca"]),
    "se_ratio": CategoricalDistribution([4, 8]),
    "eca_k": CategoricalDistribution([3, 5]),
}


def _relative_space(options: dict[str, Any]) -> set[str]:
    """The parameters TPE samples jointly for a new trial, after one trial of each block (each
    with its own conditional parameter, as a drawn block's parameters are)."""
    sampler = sampler_for(_config("sampler", "tpe", options))
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    for block, own in (("se", "se_ratio"), ("eca", "eca_k")):
        params = {"block": block, own: CHOICES[own].choices[0]}
        distributions = {name: CHOICES[name] for name in params}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, values=[0.5, 1])
        )
    study.ask()
    return set(sampler.infer_relative_search_space(study, study.trials[-1]))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_tpe_multivariate_and_group() -> None:
    assert _relative_space({}) == set(CHOICES), "default: every group, conditional ones too"
    assert _relative_space({"group": False}) == {"block"}, "ungrouped: what every trial has"
    assert _relative_space({"multivariate": False, "group": False}) == set(), "independent"


def test_tpe_group_without_multivariate_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(
        ValueError,
        match=r"^sampler 'tpe': group = true .*with multivariate = false, also set group = false$",
    ):
        _config("sampler", "tpe", {"multivariate": False})
