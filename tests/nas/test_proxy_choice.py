"""Which proxy ``nas search`` trains on CUDA: from a real calibration summary.

The summaries are made by ``nas calibrate``'s own code (:func:`nas.calibrate.plan.budgets`
with ``--proxies gpu``, :func:`nas.calibrate.summary.summarise`) from runs whose numbers are
written out here: 6 specs, 2 seeds, a reference that ranks them 0..5.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import optuna
import pytest

from nas.calibrate.fidelity import setup_of
from nas.calibrate.plan import budgets, parse_candidates
from nas.calibrate.summary import summarise
from nas.config import CalibrateSection, SearchConfig
from nas.proxies import GPU_PROXY, NAMED_PROXIES
from nas.proxy_choice import choose_proxy, started_proxy
from workers.budget import ProxyBudget
from workers.signals import SIGNALS, signal_key

SPECS = [f"s{i}" for i in range(6)]
IN_ORDER = [0, 1, 2, 3, 4, 5]
SHUFFLED = [2, 0, 1, 5, 3, 4]


def _summary(config: SearchConfig, *, gpu: list[int], proxy: list[int]) -> dict[str, Any]:
    """A stored calibration where the proxy and the ``gpu`` candidate rank the specs in the
    orders given (the reference ranks them in order)."""
    by_budget = budgets(config, 2, parse_candidates([GPU_PROXY]))
    ranks = {"reference": IN_ORDER, "proxy": proxy, GPU_PROXY: gpu}
    rows = []
    for name in by_budget:
        for seed in range(2):
            for spec, rank in zip(SPECS, ranks[name], strict=True):
                value = 0.5 + 0.05 * rank + 0.002 * seed
                metrics = {"val_accuracy": value, "wall_time_s": 1.0 + seed}
                metrics.update({signal_key(s): value for s in SIGNALS.names()})
                rows.append({"spec": spec, "budget": name, "seed": seed, "metrics": metrics})
    named = {name: b[0].to_dict() for name, b in by_budget.items()}
    summary = summarise(rows, specs=SPECS, seeds=2, budgets=named, resamples=50)
    summary["setup"] = setup_of(config)
    return summary


def test_gpu_is_a_named_candidate_of_calibrate() -> None:
    assert parse_candidates([GPU_PROXY]) == {GPU_PROXY: dict(NAMED_PROXIES[GPU_PROXY])}
    assert parse_candidates(["gpu:epochs=2"]) == {"gpu": {"epochs": 2}}, "still overridable"
    with pytest.raises(ValueError, match="or a named one: gpu"):
        parse_candidates(["other"])


def test_on_a_cpu_nothing_changes_and_nothing_is_said() -> None:
    config = SearchConfig()
    summary = _summary(config, gpu=IN_ORDER, proxy=SHUFFLED)
    assert choose_proxy(config, summary, cuda=False) == (config, None)


def test_on_cuda_without_a_calibration_the_default_is_kept_and_how_to_measure_said() -> None:
    config = SearchConfig()
    chosen, line = choose_proxy(config, None, cuda=True)
    assert chosen is config
    assert line == (
        "CUDA visible: using the CPU-sized default proxy; measure a larger one with "
        "`nas calibrate CONFIG --proxies gpu --scale 16`"
    )
    other_space = replace(config, space=replace(config.space, width=0.75))
    summary = _summary(other_space, gpu=IN_ORDER, proxy=SHUFFLED)
    assert choose_proxy(config, summary, cuda=True)[0] is config, "it measured another space"


def test_the_gpu_proxy_is_used_when_it_ranked_better() -> None:
    config = SearchConfig()
    config = replace(config, proxy=replace(config.proxy, seed=7, device="cuda", compile=True))
    chosen, line = choose_proxy(config, _summary(config, gpu=IN_ORDER, proxy=SHUFFLED), cuda=True)
    expected = ProxyBudget.from_dict(
        {**ProxyBudget().to_dict(), **NAMED_PROXIES[GPU_PROXY], "seed": 7, "device": "cuda",
         "compile": True}
    )  # fmt: skip
    assert chosen.proxy == expected and chosen.search == config.search
    assert line is not None and line.startswith(
        "CUDA visible: using proxy 'gpu' (4 x 10000 images, batch 128): neg_tail_loss tau +1.00 "
        "against the reference in `nas calibrate`, the default proxy's +0."
    )


def test_the_default_is_kept_when_the_gpu_proxy_ranked_no_better_or_below_min_tau() -> None:
    config = SearchConfig()
    worse = _summary(config, gpu=SHUFFLED, proxy=IN_ORDER)
    chosen, line = choose_proxy(config, worse, cuda=True)
    assert chosen is config and "kept the CPU-sized default proxy: 'gpu' ranked no better" in str(
        line
    )
    strict = replace(config, calibrate=CalibrateSection(min_tau=1.0))
    better = _summary(strict, gpu=SHUFFLED, proxy=[5, 4, 3, 2, 1, 0])
    chosen, line = choose_proxy(strict, better, cuda=True)
    assert chosen is strict and "'gpu' is below min_tau 1.0" in str(line)


def test_a_configured_proxy_is_trained_as_set() -> None:
    config = replace(SearchConfig(), proxy=ProxyBudget(epochs=5))
    summary = _summary(config, gpu=IN_ORDER, proxy=SHUFFLED)
    assert choose_proxy(config, summary, cuda=True) == (
        config,
        "CUDA visible: training the [proxy] this config sets",
    )


def test_a_resumed_study_keeps_the_proxy_it_was_started_with() -> None:
    config = SearchConfig()
    summary = _summary(config, gpu=IN_ORDER, proxy=SHUFFLED)
    default = config.proxy.to_dict()
    chosen, line = choose_proxy(config, summary, cuda=True, started_with=default)
    assert chosen is config and "started at the CPU-sized default proxy: kept" in str(line)
    gpu = choose_proxy(config, summary, cuda=True)[0].proxy.to_dict()
    chosen, line = choose_proxy(config, summary, cuda=True, started_with=gpu)
    assert chosen.proxy.to_dict() == gpu and line == (
        "CUDA visible: resuming a study started at proxy 'gpu': kept"
    )


def test_started_proxy_reads_the_stored_config() -> None:
    storage = optuna.storages.InMemoryStorage()
    assert started_proxy(storage, "new") is None
    study = optuna.create_study(study_name="old", storage=storage)
    study.set_user_attr("config", SearchConfig().to_dict())
    assert started_proxy(storage, "old") == SearchConfig().proxy.to_dict()
