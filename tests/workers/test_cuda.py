"""The CUDA path of the workers, on a real GPU: skipped where none is visible.

Run by ``bash bench/gpu_check.sh`` (``pytest -m cuda``) on a GPU machine; ``bash .ci/test``
collects them and skips them on a CPU. What they hold: a trial trains on the GPU end to end
through ``nas search``; its data, model and batches stay on the device, with at most one
host synchronisation per :data:`workers.loop.CHECK_EVERY` steps; the forward runs under bf16
autocast; the peak memory is recorded (and reset between trials); two trials at half a GPU
each train on one card at once; and a trial on CUDA agrees with the same trial on the CPU
within :data:`LOSS_RTOL` / :data:`VAL_LOSS_RTOL`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState

from searchspace.spec import ArchSpec
from tests.idx import write_banded_fashion_mnist
from tests.nas.searches import RANDOM, search_toml
from workers.batches import TensorBatches
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.loop import CHECK_EVERY
from workers.state import TrainState
from workers.train import prepare_run, train_proxy

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

CUDA = torch.device("cuda")
LOSS_RTOL = 0.02
"""CUDA (bf16 autocast, cuDNN) vs CPU (fp32): the first epoch's mean training loss, same
seed, same weights at the start, same batches and augmentation (drawn on the CPU)."""
VAL_LOSS_RTOL = 0.05
"""... and the last epoch's validation loss, where bf16 rounding has had two epochs to move
the weights apart. Not the accuracy: a proxy this short is near chance, where nearly tied
logits let rounding flip many of 48 predictions."""


def _data(root: Path) -> DataConfig:
    return DataConfig(data_dir=str(root), download=False)


def _on_cuda(budget: ProxyBudget, **changes: object) -> ProxyBudget:
    return dataclasses.replace(budget, device="cuda", **changes)  # type: ignore[arg-type]


def test_data_model_and_batches_stay_on_the_device(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    _, splits, loop = prepare_run(tiny_spec, _data(fashion_dir), _on_cuda(tiny_budget), CUDA)
    for part in (splits.train, splits.val):
        assert isinstance(part, TensorBatches), "in-memory data is held as tensors"
        assert part.images.is_cuda and part.labels.is_cuda, "the split lives on the GPU"
        assert part.images.dtype == torch.uint8, "as uint8: a quarter of float's memory"
    assert all(p.is_cuda for p in loop.model.parameters())
    conv = next(p for p in loop.model.parameters() if p.dim() == 4 and min(p.shape[1:]) > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last), "cuDNN's bf16 layout"
    assert isinstance(splits.train, TensorBatches) and splits.train.channels_last
    x, y = next(iter(splits.train))
    assert x.is_cuda and y.is_cuda


def test_an_epoch_synchronises_once_per_check(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    """No per-step host round trip: the CUDA sync debugger warns at every synchronising call;
    an epoch may make one per loss check, one for its shuffle and a few at its end."""
    budget = _on_cuda(tiny_budget, train_samples=None, batch_size=4)
    _, splits, loop = prepare_run(tiny_spec, _data(fashion_dir), budget, CUDA)
    loop.train_epoch(1, splits.train)  # warm-up: cuDNN and the allocator settle
    steps = len(splits.train)
    assert steps >= 3 * CHECK_EVERY, "enough steps to tell per-step syncs from per-check ones"
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loop.train_epoch(2, splits.train)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchronizing" in str(w.message)]
    assert steps // CHECK_EVERY <= len(syncs), "the loss checks themselves are counted"
    assert len(syncs) <= steps // CHECK_EVERY + 8, (len(syncs), steps)


def test_the_forward_runs_under_bf16_autocast(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    _, splits, loop = prepare_run(tiny_spec, _data(fashion_dir), _on_cuda(tiny_budget), CUDA)
    x, _ = next(iter(splits.train))
    with loop.autocast:
        assert torch.is_autocast_enabled("cuda")
        logits = loop.model(x)
    assert logits.dtype == torch.bfloat16


def test_peak_memory_is_recorded_per_trial(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    first = train_proxy(tiny_spec, _data(fashion_dir), _on_cuda(tiny_budget))
    assert first["device_total_mb"] > first["device_memory_mb"] > 0
    ballast = torch.empty(2**29, dtype=torch.uint8, device=CUDA)  # 512 MiB, then freed
    del ballast
    second = train_proxy(tiny_spec, _data(fashion_dir), _on_cuda(tiny_budget))
    assert 0 < second["device_memory_mb"] < 512, "the last trial's peak is not carried over"


def test_a_trial_on_cuda_matches_it_on_the_cpu(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    cpu_epochs: list[dict[str, float]] = []
    cuda_epochs: list[dict[str, float]] = []
    on_cpu = dataclasses.replace(tiny_budget, device="cpu")  # "auto" would take the GPU
    cpu = train_proxy(tiny_spec, _data(fashion_dir), on_cpu, cpu_epochs.append)
    gpu = train_proxy(tiny_spec, _data(fashion_dir), _on_cuda(tiny_budget), cuda_epochs.append)
    assert "device_memory_mb" not in cpu and gpu["device_memory_mb"] > 0
    first_cpu, first_gpu = cpu_epochs[0]["train_loss"], cuda_epochs[0]["train_loss"]
    assert math.isclose(first_cpu, first_gpu, rel_tol=LOSS_RTOL), (first_cpu, first_gpu)
    last_cpu, last_gpu = cpu_epochs[-1]["val_loss"], cuda_epochs[-1]["val_loss"]
    assert math.isclose(last_cpu, last_gpu, rel_tol=VAL_LOSS_RTOL), (last_cpu, last_gpu)


def test_compile_trains_and_checkpoints_the_plain_model(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    states: list[TrainState] = []
    budget = _on_cuda(tiny_budget, compile=True)
    final = train_proxy(tiny_spec, _data(fashion_dir), budget, on_checkpoint=states.append)
    assert final["epochs_trained"] == budget.epochs and 0 <= final["val_accuracy"] <= 1
    assert not any(key.startswith("_orig_mod") for key in states[-1].model), "plain keys"


def test_two_trials_train_at_once_on_half_a_gpu_each(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget, gpu_ray: None
) -> None:
    """Each Ray task holds 0.5 GPU and trains only after both have started: with whole GPUs
    the second could not start and the first would wait at the barrier until the timeout."""
    import ray

    @ray.remote(num_cpus=0)
    class Barrier:
        def __init__(self, parties: int) -> None:
            self.arrived = 0
            self.parties = parties

        def arrive(self) -> None:
            self.arrived += 1

        def count(self) -> int:
            return self.arrived

    @ray.remote(num_cpus=1, num_gpus=0.5)
    def trial(barrier: Any, spec: dict, budget: dict, data: dict) -> dict:
        import time as clock

        ray.get(barrier.arrive.remote())
        deadline = clock.monotonic() + 60
        while ray.get(barrier.count.remote()) < 2:
            assert clock.monotonic() < deadline, "the other trial never started"
            clock.sleep(0.05)
        final = train_proxy(
            ArchSpec.from_dict(spec), DataConfig.from_dict(data), ProxyBudget.from_dict(budget)
        )
        return {"gpus": ray.get_gpu_ids(), "memory": final["device_memory_mb"]}

    barrier = Barrier.remote(2)
    args = (tiny_spec.to_dict(), _on_cuda(tiny_budget).to_dict(), _data(fashion_dir).to_dict())
    results = ray.get([trial.remote(barrier, *args) for _ in range(2)], timeout=300)
    assert [len(r["gpus"]) for r in results] == [1, 1], "both on the one GPU"
    assert results[0]["gpus"] == results[1]["gpus"]
    assert all(r["memory"] > 0 for r in results)


def test_nas_search_trains_its_trials_on_the_gpu_packed_by_their_peak(
    tmp_path: Path, gpu_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under ``gpus_per_trial = "auto"``: the first trial alone on the card, then (a tiny
    proxy's peak is far below the card) two at once, as ``[search] concurrency = 2`` caps it."""
    from nas.cli import main

    data = write_banded_fashion_mnist(tmp_path / "idx", n=200)
    proxy = {"epochs": 2, "train_samples": 150, "val_samples": 50, "device": "cuda"}
    search = {"study": "gpu", "concurrency": 2, **RANDOM}
    config = tmp_path / "search.toml"
    text = search_toml(data=data, search=search, proxy=proxy)
    config.write_text(text + '[resources]\ngpus_per_trial = "auto"\n')
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    assert main(["search", str(config), "--storage", url, "--trials", "3"]) == 0
    out = capsys.readouterr().out
    assert "gpus_per_trial auto: 1 until a trial's peak GPU memory is measured" in out
    assert "gpus_per_trial auto: 0.5 (peak " in out and "2 per card, capped by" in out
    assert "CUDA visible: training the [proxy] this config sets" in out
    study = optuna.load_study(study_name="gpu", storage=url)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3, [t.user_attrs.get("fail_reason") for t in study.trials]
    for trial in done:
        assert trial.user_attrs["device_memory_mb"] > 0, "trained on the GPU"
        assert trial.user_attrs["proxy"]["device"] == "cuda"
