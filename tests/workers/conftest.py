"""Fixtures of the workers tests (the tiny datasets they write: :mod:`tests.workers.datasets`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from searchspace.spec import ArchSpec
from tests.workers.datasets import write_fashion_mnist
from workers.budget import ProxyBudget


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from two threads, and on a shared box OpenMP spin-waits."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fashion_dir(tmp_path: Path) -> Path:
    write_fashion_mnist(tmp_path / "fmnist")
    return tmp_path / "fmnist"


@pytest.fixture
def tiny_spec() -> ArchSpec:
    return ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": 4}}, {}, {}]}
    )


@pytest.fixture
def tiny_budget() -> ProxyBudget:
    """A proxy that trains in about a second: 96 images at 12 px, width 0.25."""
    return ProxyBudget(
        epochs=2,
        train_samples=96,
        val_samples=48,
        width=0.25,
        input_size=12,
        batch_size=32,
        warmup_fraction=0.25,
    )
