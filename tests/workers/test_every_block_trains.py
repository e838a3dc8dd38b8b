"""Every registered block trains through the worker in the layouts and precisions a GPU uses.

On CUDA the worker lays the model and its batches out channels-last and runs the forward under
bf16 autocast (``workers.train.prepare_run``, ``workers.loop.Loop.autocast``); the CPU default
is neither, so a block that breaks only there (CondConv's 5-D kernel bank refused the
channels-last call) would fail every trial a GPU user draws with it. The CPU test forces the
channels-last layout on every block; the CUDA test (``bash bench/gpu_check.sh``, skipped
without a device) trains every block on the GPU as a trial does.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from searchspace.blocks import registered_blocks
from searchspace.examples import block_everywhere
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.train import prepare_run

BLOCKS = sorted(name for name in registered_blocks() if name != "none")
BUDGET = ProxyBudget(epochs=1, train_samples=64, val_samples=32, input_size=16, batch_size=32)
"""One epoch of two steps at the spec's own width (``width`` unset)."""


def train_one_epoch(
    name: str, root: Path, device: torch.device, channels_last: bool | None
) -> None:
    data = DataConfig(data_dir=str(root), download=False)
    budget = dataclasses.replace(BUDGET, device=device.type)
    _, splits, loop = prepare_run(
        block_everywhere(name), data, budget, device, channels_last=channels_last
    )
    trained = loop.train_epoch(1, splits.train)
    assert math.isfinite(trained["train_loss"]), trained
    # Evaluation runs (eval mode, the same autocast); its loss is not asserted finite: after two
    # steps BatchNorm's running statistics are still their initial ones, and a stage of
    # multiplicative attention (``san`` replacing every convolution) then grows its maps to
    # 1e22 and overflows, the numerics of an untrained net rather than of the layout.
    evaluated = loop.evaluate(splits.val)
    assert 0 <= evaluated["val_accuracy"] <= 1


@pytest.mark.parametrize("name", BLOCKS)
def test_every_block_trains_channels_last_on_the_cpu(name: str, fashion_dir: Path) -> None:
    train_one_epoch(name, fashion_dir, torch.device("cpu"), channels_last=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", BLOCKS)
def test_every_block_trains_on_cuda_as_a_trial_does(name: str, fashion_dir: Path) -> None:
    """The worker's CUDA defaults: channels-last and bf16 autocast (``channels_last=None``)."""
    train_one_epoch(name, fashion_dir, torch.device("cuda"), channels_last=None)
