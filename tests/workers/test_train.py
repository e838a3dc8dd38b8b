"""train_proxy end to end on tiny IDX data: determinism, early stop, resume, formats, devices
(the loop's own step losses and failures: tests/workers/test_loop.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from searchspace.build import build_model
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec
from tests.workers.datasets import write_cifar, write_image_folder
from workers.batches import TensorBatches
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.state import TrainState
from workers.train import (
    device_memory_mb,
    plan_proxy,
    prepare_run,
    resolve_device,
    train_proxy,
)


def _data(root: Path) -> DataConfig:
    return DataConfig(data_dir=str(root), download=False)


def test_metrics_and_final_result(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    seen: list[dict[str, float]] = []
    final = train_proxy(tiny_spec, _data(fashion_dir), tiny_budget, on_epoch=seen.append)
    assert [m["epoch"] for m in seen] == [1, 2]
    for metrics in seen:
        assert set(metrics) >= {
            "epoch",
            "val_accuracy",
            "val_loss",
            "train_loss",
            "images_per_s",
            "lr",
        }
        assert 0 <= metrics["val_accuracy"] <= 1 and metrics["images_per_s"] > 0
        assert math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])
    assert seen[-1]["lr"] == 0.0  # the cosine ends at zero
    assert final["epochs_trained"] == 2 and final["stopped_early"] is False
    assert final["best_val_accuracy"] == max(m["val_accuracy"] for m in seen)
    assert final["last_val_accuracy"] == seen[-1]["val_accuracy"]
    # Ranking signals after each epoch are those of the epochs so far (workers.signals).
    assert seen[0]["signal/neg_sotl"] == -seen[0]["train_loss"]
    assert seen[1]["signal/neg_sotl"] == pytest.approx(
        -seen[0]["train_loss"] - seen[1]["train_loss"]
    )
    assert seen[0]["signal/best_val_accuracy"] == seen[0]["val_accuracy"]
    assert final["signal/best_val_accuracy"] == final["best_val_accuracy"]
    assert final["signal/neg_sotl_e"] == -seen[-1]["train_loss"]
    assert final["signal/neg_tail_loss"] == -seen[-1]["train_loss_tail"]
    full = count_cost(tiny_spec)
    assert (final["macs"], final["params"]) == (full.macs, full.params)
    proxy = final["proxy"]
    assert (proxy["width"], proxy["input_size"], proxy["in_channels"], proxy["num_classes"]) == (
        0.25,
        12,
        1,
        10,
    )
    assert (proxy["train_samples"], proxy["val_samples"], proxy["epochs"]) == (96, 24, 2)
    # peak GPU memory is reported where a trial trained on a GPU, never invented on a CPU
    on_gpu = resolve_device(tiny_budget.device).type == "cuda"
    assert ("device_memory_mb" in final) == on_gpu
    assert device_memory_mb(torch.device("cpu")) is None


def test_two_runs_on_cpu_are_identical(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    runs = []
    for _ in range(2):
        seen: list[dict[str, float]] = []
        train_proxy(tiny_spec, _data(fashion_dir), tiny_budget, on_epoch=seen.append)
        runs.append([(m["train_loss"], m["val_loss"], m["val_accuracy"]) for m in seen])
    assert runs[0] == runs[1]


def test_callback_true_stops_early(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    final = train_proxy(tiny_spec, _data(fashion_dir), tiny_budget, on_epoch=lambda m: True)
    assert final["epochs_trained"] == 1 and final["stopped_early"] is True


def test_resume_continues_as_if_never_interrupted(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget, tmp_path: Path
) -> None:
    states: list[TrainState] = []
    straight: list[dict[str, float]] = []
    train_proxy(
        tiny_spec,
        _data(fashion_dir),
        tiny_budget,
        on_epoch=straight.append,
        on_checkpoint=states.append,
    )
    states[0].save(tmp_path / "ckpt")
    restored = TrainState.load(tmp_path / "ckpt")
    resumed: list[dict[str, float]] = []
    final = train_proxy(
        tiny_spec, _data(fashion_dir), tiny_budget, on_epoch=resumed.append, resume=restored
    )
    assert [m["epoch"] for m in resumed] == [2]
    keys = ("train_loss", "val_loss", "val_accuracy")
    assert [resumed[0][k] for k in keys] == [straight[1][k] for k in keys]
    assert final["epochs_trained"] == 2


def test_checkpoint_weights_load_into_the_proxy_model(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget, tmp_path: Path
) -> None:
    states: list[TrainState] = []
    train_proxy(tiny_spec, _data(fashion_dir), tiny_budget, on_checkpoint=states.append)
    states[-1].save(tmp_path)
    weights = torch.load(tmp_path / "model.pt", weights_only=True)
    model = build_model(plan_proxy(tiny_spec, _data(fashion_dir), tiny_budget).spec)
    model.load_state_dict(weights)


def test_the_device_given_replaces_the_budgets_which_the_result_keeps(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    """A Ray trial holding no GPU trains ``device = "auto"`` on the CPU (workers.ray_device):
    the choice goes in beside the budget, which the study keeps as the user wrote it."""
    asked = ProxyBudget.from_dict({**tiny_budget.to_dict(), "epochs": 1, "device": "cuda"})
    final = train_proxy(tiny_spec, _data(fashion_dir), asked, device="cpu")
    assert final["epochs_trained"] == 1 and "device_memory_mb" not in final, "on the CPU"
    assert final["proxy"]["device"] == "cuda"


def test_learns_the_tiny_task(fashion_dir: Path, tiny_spec: ArchSpec) -> None:
    # the class is the square's position, so no crop or flip here
    budget = ProxyBudget(
        epochs=5, width=0.25, input_size=16, batch_size=24, augment=False, warmup_fraction=0.1
    )
    final = train_proxy(tiny_spec, _data(fashion_dir), budget)
    assert final["best_val_accuracy"] >= 0.5  # chance is 0.1


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagefolder"])
def test_every_format_trains(dataset: str, tmp_path: Path, tiny_spec: ArchSpec) -> None:
    if dataset == "imagefolder":
        write_image_folder(tmp_path, n=40)
    else:
        write_cifar(tmp_path, int(dataset.removeprefix("cifar")))
    data = DataConfig(dataset=dataset, data_dir=str(tmp_path), download=False, val_fraction=0.2)
    budget = ProxyBudget(epochs=1, width=0.25, input_size=16, batch_size=16)
    final = train_proxy(tiny_spec, data, budget)
    assert final["epochs_trained"] == 1 and 0 <= final["val_accuracy"] <= 1
    assert final["proxy"]["in_channels"] == 3
    assert (
        final["proxy"]["num_classes"] == {"cifar10": 10, "cifar100": 100, "imagefolder": 3}[dataset]
    )


def test_channels_last_is_the_cuda_default_and_can_be_asked_for(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    """``bench/gpu.py`` times both layouts; on a CPU the default is the plain one."""
    cpu = torch.device("cpu")
    for asked, expected in ((None, False), (True, True)):
        _, splits, loop = prepare_run(
            tiny_spec, _data(fashion_dir), tiny_budget, cpu, channels_last=asked
        )
        assert isinstance(splits.train, TensorBatches)
        assert splits.train.channels_last == expected
        conv = next(
            p
            for p in loop.model.parameters()
            if p.dim() == 4 and p.shape[1] > 1 and p.shape[-1] > 1
        )
        assert conv.is_contiguous(memory_format=torch.channels_last) == expected
        assert loop.compiled is None, "[proxy] compile is off by default"


def test_channels_last_takes_a_model_with_a_kernel_bank(
    fashion_dir: Path, tiny_budget: ProxyBudget
) -> None:
    """CondConv holds a 5-D ``(experts, out, in, k, k)`` kernel bank, which
    ``model.to(memory_format=torch.channels_last)`` refuses outright; the worker lays out the
    4-D tensors only, so such a trial trains in the CUDA layout (forced here on the CPU)."""
    raw = {"backbone": "resnet20", "in_channels": 1, "num_classes": 10, "input_size": 16}
    stages = [{}, {}, {"block": "condconv", "position": "replace"}]
    spec = ArchSpec.from_dict({**raw, "width": 0.5, "stages": stages})
    cpu = torch.device("cpu")
    _, splits, loop = prepare_run(spec, _data(fashion_dir), tiny_budget, cpu, channels_last=True)
    kernels = [p for p in loop.model.parameters() if p.dim() == 4 and p.shape[-1] > 1]
    assert kernels and all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels)
    assert any(p.dim() == 5 for p in loop.model.parameters()), "the bank is there, untouched"
    x, y = next(iter(splits.train))
    loss = torch.nn.functional.cross_entropy(loop.model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
