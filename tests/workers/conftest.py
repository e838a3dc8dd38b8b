"""Tiny datasets written in each real on-disk format, read back through the real loaders.

Images are learnable on purpose: class ``k`` is a bright 6x6 square at a class-specific place
on a noisy background, and pixel ``(0, 0)`` of image ``i`` stores ``i % 256`` so tests can
tell which source image a loaded one came from.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget


def make_images(
    n: int, size: int, channels: int, classes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``(n, channels, size, size)`` images and int labels ``(n,)``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = rng.integers(0, 60, (n, channels, size, size), dtype=np.uint8)
    cells = max(1, (size - 6) // 2)
    for i, label in enumerate(labels):
        row, col = divmod(int(label) * 5 % (cells * cells), cells)
        images[i, :, 2 * row : 2 * row + 6, 2 * col : 2 * col + 6] = 230
        images[i, :, 0, 0] = i % 256
    return images, labels


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    """IDX bytes: 0, 0, type 0x08 (ubyte), ndim, big-endian uint32 sizes, then the data."""
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def write_fashion_mnist(root: Path, n: int = 240, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    images, labels = make_images(n, 28, 1, 10)
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / "train-images-idx3-ubyte", images[:, 0], gz)
    write_idx(root / "train-labels-idx1-ubyte", labels.astype(np.uint8), gz)
    return images, labels


def write_cifar(root: Path, classes: int, per_file: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """torchvision layout: ``cifar-10-batches-py/data_batch_N`` or ``cifar-100-python/train``."""
    if classes == 10:
        folder, files, key = (
            root / "cifar-10-batches-py",
            [f"data_batch_{i}" for i in range(1, 6)],
            b"labels",
        )
    else:
        folder, files, key = root / "cifar-100-python", ["train"], b"fine_labels"
    folder.mkdir(parents=True)
    images, labels = make_images(per_file * len(files), 32, 3, classes)
    for k, name in enumerate(files):
        part = slice(k * per_file, (k + 1) * per_file)
        batch = {b"data": images[part].reshape(per_file, 3072), key: labels[part].tolist()}
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f)
    return images, labels


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
