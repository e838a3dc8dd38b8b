"""The Ray Tune trainable under real Ray Tune (a local two-CPU cluster), and its config parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from searchspace.build import build_model
from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.train import plan_proxy
from workers.trainable import parse_config


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="missing 'budget'"):
        parse_config({"spec": {}, "data": {}})


@pytest.mark.slow
def test_trainable_under_ray_tune(
    fashion_dir: Path, tiny_spec: ArchSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray
    from ray import tune

    from workers.trainable import proxy_trainable

    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "0")
    budget = ProxyBudget(epochs=2, train_samples=64, val_samples=24, width=0.25, input_size=12)
    good = DataConfig(data_dir=str(fashion_dir), download=False).to_dict()
    missing = {**good, "data_dir": str(tmp_path / "nothing")}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(proxy_trainable, {"cpu": 1.0, "gpu": 0.0}),
            param_space={
                "spec": tiny_spec.to_dict(),
                "budget": budget.to_dict(),
                "data": tune.grid_search([good, missing]),
            },
            run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="t", verbose=0),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()
    assert not grid.errors, grid.errors
    by_dir = {r.config["data"]["data_dir"]: r for r in grid}
    trained, failed = by_dir[str(fashion_dir)], by_dir[str(tmp_path / "nothing")]

    final = trained.metrics
    assert final["done"] is True and final["epoch"] == 2 and final["epochs_trained"] == 2
    assert 0 <= final["val_accuracy"] <= 1 and final["best_val_accuracy"] >= final["val_accuracy"]
    assert final["macs"] > 0 and final["proxy"]["width"] == 0.25
    assert [int(e) for e in trained.metrics_dataframe["epoch"]] == [1, 2]
    assert trained.checkpoint is not None
    with trained.checkpoint.as_directory() as directory:
        assert sorted(os.listdir(directory)) == ["model.pt", "train_state.pt"]
        weights = torch.load(Path(directory) / "model.pt", weights_only=True)
    proxy = plan_proxy(tiny_spec, DataConfig.from_dict(good), budget).spec
    build_model(proxy).load_state_dict(weights)

    assert failed.metrics["done"] is True and failed.metrics["epoch"] == 0
    assert "fashion_mnist: IDX files not found" in failed.metrics["error"]
