"""Every registered sampler and every registered pruner runs a real search to its budget.

Real local Ray, real SQLite, real Fashion-MNIST (the IDX files ``.ci/setup`` installs from
Debian), a proxy of 200 training images. Each search goes past its sampler's start-up trials
(set low in ``[sampler]`` so a few trials suffice) with PRUNED trials (their learning curves
stored) and a FAIL trial (the ``se_branch`` reference fails in its Ray worker) present when the
sampler proposes: the two conditions under which Optuna 5's samplers broke (issue #10).

By default each sampler runs with the default pruner and each pruner with the default sampler
(what a user who changes one of the two runs; a sampler sees every pruner's PRUNED trials the
same way, through ``SamplerView``). ``pytest --full-matrix`` runs every pair: ``.ci/newest``
does, on the newest versions, so CI runs the whole matrix on every change. The defaults a user
gets are run as they are, in a fresh process, by ``test_search_defaults.py``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from nas.config import SearchConfig, SearchSection
from nas.pruning import PRUNERS
from nas.results.pareto import pareto_mask
from nas.sampling import SAMPLERS
from nas.search import run_search
from tests.idx import fashion_mnist_dir

pytestmark = [pytest.mark.slow, pytest.mark.matrix]

TRIALS = 8
STARTUP = 3
"""Start-up trials of every sampler here: NSGA-II's first generation, TPE's and GP's random."""
SAMPLER_OPTIONS: dict[str, dict[str, Any]] = {
    "nsga2": {"population_size": STARTUP},
    "tpe": {"n_startup_trials": STARTUP},
    "gp": {"n_startup_trials": STARTUP},
}
PRUNER_OPTIONS: dict[str, dict[str, Any]] = {"median": {"n_startup_trials": 1}}
BROKEN_REFERENCE = "se_branch"


def matrix_config(tmp_path: Path, sampler: str, pruner: str) -> SearchConfig:
    return SearchConfig.from_dict(
        {
            "search": {
                "study": f"{sampler}-{pruner}",
                "storage": str(tmp_path / "nas.db"),
                "trials": TRIALS,
                "concurrency": 2,
                "seed": 0,
                "sampler": sampler,
                "pruner": pruner,
            },
            "space": {"blocks": ["none", "se", "eca"], "positions": ["branch", "stage_end"]},
            "data": {"data_dir": fashion_mnist_dir(), "download": False},
            "proxy": {
                "epochs": 2,
                "train_samples": 200,
                "val_samples": 100,
                "width": 0.25,
                "batch_size": 50,
                "augment": False,
                "warmup_fraction": 0.125,  # learn something in epoch 1, so rungs rank signal
            },
            "noise": {"specs": 0},  # the trials are the sampler's: replicas are tested elsewhere
            "confirm": {"after_search": False},
            "sampler": SAMPLER_OPTIONS.get(sampler, {}),
            "pruner": PRUNER_OPTIONS.get(pruner, {}),
        }
    )


def fails_one_reference(config: dict[str, Any]) -> None:
    """The real proxy trainable, but an all-SE spec (the reference among them) fails.

    It fails the way the trainable reports a failed training (one final ``error`` result), not
    by raising: a raise ends the Ray actor, and a new actor costs seconds of start-up per FAIL
    (raising trainables are ``test_search_e2e.py``'s).
    """
    from ray import tune

    from workers.trainable import proxy_trainable

    if all(stage.get("block") == "se" for stage in config["spec"]["stages"]):
        tune.report({"error": "injected: this block is broken", "done": True, "epoch": 0})
        return
    proxy_trainable(config)


def matrix_pairs(full: bool) -> list[tuple[str, str]]:
    """Every (sampler, pruner) pair, or each one with the other's default."""
    defaults = SearchSection()
    pairs = [(s, p) for s in SAMPLERS.names() for p in PRUNERS.names()]
    if full:
        return pairs
    return [(s, p) for s, p in pairs if s == defaults.sampler or p == defaults.pruner]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"sampler", "pruner"} <= set(metafunc.fixturenames):
        pairs = matrix_pairs(bool(metafunc.config.getoption("full_matrix")))
        metafunc.parametrize(("sampler", "pruner"), pairs, ids=[f"{s}-{p}" for s, p in pairs])


def test_the_default_matrix_covers_every_sampler_and_every_pruner() -> None:
    pairs = matrix_pairs(full=False)
    assert {s for s, _ in pairs} == set(SAMPLERS.names())
    assert {p for _, p in pairs} == set(PRUNERS.names())
    assert len(matrix_pairs(full=True)) == len(SAMPLERS.names()) * len(PRUNERS.names())


def test_sampler_with_pruner_runs_to_budget(
    tmp_path: Path, ray_cluster: None, sampler: str, pruner: str
) -> None:
    config = matrix_config(tmp_path, sampler, pruner)
    result = run_search(config, trainable=fails_one_reference, stream=io.StringIO())

    assert result.finished == TRIALS and result.interrupted == 0
    study = optuna.load_study(
        study_name=config.search.study, storage=f"sqlite:///{tmp_path}/nas.db"
    )
    by_state = {s: study.get_trials(states=(s,)) for s in TrialState}
    assert not by_state[TrialState.RUNNING] and not by_state[TrialState.WAITING]
    failed = by_state[TrialState.FAIL]
    assert BROKEN_REFERENCE in [t.user_attrs.get("reference") for t in failed]
    for trial in failed:  # the reference, and any other all-SE spec the sampler proposed
        assert "injected: this block is broken" in trial.user_attrs["fail_reason"]
    pruned = by_state[TrialState.PRUNED]
    if pruner != "none":
        assert pruned, f"{pruner} pruned nothing: {[t.intermediate_values for t in study.trials]}"
    assert all(t.intermediate_values and t.values is None for t in pruned), "curves are kept"

    proposed = [t for t in study.trials if "reference" not in t.user_attrs]
    assert len(proposed) > STARTUP, "the sampler got past its start-up trials"
    complete = by_state[TrialState.COMPLETE]
    assert complete and result.front
    mask = pareto_mask([t.values for t in complete], ["maximize", "minimize"])
    on_front = {t.number for t, on in zip(complete, mask, strict=True) if on}
    assert {m.number for m in result.front.members} <= on_front
