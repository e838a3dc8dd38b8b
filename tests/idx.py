"""IDX files for tests: the one writer, a tiny learnable Fashion-MNIST, and the real one.

IDX (LeCun's MNIST format): magic ``0x0000 08 ndim`` (unsigned bytes), one big-endian uint32
per dimension, then the raw bytes; the Fashion-MNIST files are gzipped or not.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from workers.datasets.fashion_mnist import SYSTEM_DIRS

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write a uint8 ``array`` as one IDX file at ``path`` (``path.gz`` when ``gz``)."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    payload = struct.pack(">BBBB", 0, 0, 0x08, data.ndim)
    payload += struct.pack(f">{data.ndim}I", *data.shape) + data.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


def write_banded_fashion_mnist(folder: Path, n: int = 200, size: int = 28, seed: int = 0) -> Path:
    """``n`` (B=n, H=size, W=size) images and labels in 0..9 under ``folder``; returns it.

    Learnable on purpose: each class is a bright bar at its own row band plus noise, so two
    proxy epochs reach well above chance.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, size, size))
    band = max(1, size // 10)
    for i, label in enumerate(labels):
        images[i, label * band : (label + 1) * band, :] += 180
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / IMAGES, np.clip(images, 0, 255))
    write_idx(folder / LABELS, labels)
    return folder


def fashion_mnist_dir() -> str:
    """The folder holding the real Fashion-MNIST IDX files (``.ci/setup`` installs them)."""
    for folder in SYSTEM_DIRS:
        if (Path(folder) / f"{IMAGES}.gz").is_file():
            return folder
    pytest.fail(f"Fashion-MNIST IDX files not in {SYSTEM_DIRS}: run bash .ci/setup")
