"""``gpus_per_trial = "auto"`` in a search: the share new trials get, and how Tune reads it.

Real Optuna and real Ray Tune (its ``Trial``, which the Tune controller asks for the placement
when it adds a trial; no cluster needed): what Tune reserves is what the trial's config carries.
"""

from __future__ import annotations

import pickle
from functools import partial
from pathlib import Path

import optuna
import pytest
import torch
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.registry import register_trainable

from nas.resources import CARD_KEY, GPU_KEY, MEMORY_KEY, GpuShare, trial_placement
from tests.idx import write_banded_fashion_mnist
from tests.nas.searches import RANDOM, search_toml

H100_MIB = 81559.0


def _trainable(config: dict) -> None:
    """Never run: Tune only asks it for its resources."""


def test_tune_reserves_the_fraction_each_trial_config_carries() -> None:
    placement = partial(trial_placement, cpu=1.0, gpu=1.0)
    register_trainable("gpu_share_probe", tune.with_resources(_trainable, placement))
    reserved = []
    for config in ({}, {GPU_KEY: 0.25}):
        trial = Trial("gpu_share_probe", config=config)
        trial.create_placement_group_factory()  # as TuneController.add_trial does
        reserved.append(trial.placement_group_factory.required_resources)
    assert reserved == [{"CPU": 1.0, "GPU": 1.0}, {"CPU": 1.0, "GPU": 0.25}]


def test_the_first_trial_runs_alone_then_the_rest_are_packed() -> None:
    lines: list[str] = []
    share = GpuShare(4, card_mb=None)
    share.say = lines.append
    assert share.trial_config() == {GPU_KEY: 1.0}
    assert not share.hold(0) and share.hold(1), "one trial in flight measures the others"
    share.observe({"val_accuracy": 0.5})  # pruned or on a CPU: nothing measured
    assert share.hold(1) and not lines
    share.observe({MEMORY_KEY: 9318.4, CARD_KEY: H100_MIB})
    assert share.trial_config() == {GPU_KEY: 0.25} and not share.hold(3)
    assert lines == [
        "gpus_per_trial auto: 0.25 (peak 9.1 GiB of 79.6 GiB per trial, 4 per card, "
        "capped by [search] concurrency)"
    ]
    share.observe({MEMORY_KEY: 20480.0, CARD_KEY: H100_MIB})  # a larger architecture
    assert share.trial_config() == {GPU_KEY: 0.5}, "later trials get more of the card"
    assert len(lines) == 2
    share.observe({MEMORY_KEY: 100.0, CARD_KEY: H100_MIB})
    assert share.trial_config() == {GPU_KEY: 0.5} and len(lines) == 2, "the largest peak rules"


def test_the_smallest_card_seen_is_the_one_sized_for() -> None:
    share = GpuShare(8, card_mb=H100_MIB)
    share.observe({MEMORY_KEY: 5222.4, CARD_KEY: 22731.0})  # a node with an A10
    assert share.card_mb == 22731.0 and share.trial_config() == {GPU_KEY: 0.5}


def test_a_resumed_search_starts_from_the_stored_peaks() -> None:
    study = optuna.create_study()
    for peak in (6144.0, 9318.4):
        study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={MEMORY_KEY: peak}))
    study.add_trial(optuna.trial.create_trial(value=0.5))  # trained on a CPU
    share = GpuShare.of_study(study, 8)
    assert share.peaks_mb == [6144.0, 9318.4]
    restored = pickle.loads(pickle.dumps(GpuShare(2, card_mb=H100_MIB, peaks_mb=[300.0])))
    assert restored.trial_config() == {GPU_KEY: 0.5} and restored.say is None


def test_auto_and_the_default_reserve_a_card_share_but_none_for_a_cpu_proxy() -> None:
    from nas.config import SearchConfig
    from nas.resources import trial_resources

    config = SearchConfig.from_dict({"resources": {"gpus_per_trial": "auto"}})
    visible = torch.cuda.is_available()
    assert trial_resources(config) == {"cpu": 1.0, "gpu": 1.0 if visible else 0.0}
    on_cpu = SearchConfig.from_dict(
        {"resources": {"gpus_per_trial": "auto"}, "proxy": {"device": "cpu"}}
    )
    assert trial_resources(on_cpu)["gpu"] == 0.0
    by_default = SearchConfig.from_dict({"search": {"concurrency": 4}})
    assert trial_resources(by_default)["gpu"] == (0.25 if visible else 0.0)
    default_on_cpu = SearchConfig.from_dict({"proxy": {"device": "cpu"}})
    assert trial_resources(default_on_cpu)["gpu"] == 0.0, "the default share skips a CPU proxy"


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="tests/workers/test_cuda.py: on a GPU")
def test_a_search_under_auto_on_a_cpu_reserves_no_gpu_and_says_so(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from nas.cli import main

    data = write_banded_fashion_mnist(tmp_path / "idx", n=200)
    proxy = {"epochs": 1, "train_samples": 100, "val_samples": 50, "augment": False}
    text = search_toml(data=data, search={"study": "auto", **RANDOM}, proxy=proxy)
    config = tmp_path / "search.toml"
    config.write_text(text + '[resources]\ngpus_per_trial = "auto"\n')
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    assert main(["search", str(config), "--storage", url, "--trials", "1"]) == 0
    out = capsys.readouterr().out
    assert "nas search: gpus_per_trial auto: 0 (no CUDA device visible here" in out
    assert "CUDA visible" not in out, "on a CPU the proxy choice says nothing"
