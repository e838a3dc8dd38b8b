"""Write tiny Fashion-MNIST-shaped IDX files for end-to-end tests.

IDX (LeCun's MNIST format): magic ``0x0000 08 ndim`` (unsigned bytes), one big-endian uint32
per dimension, then the raw bytes. Images are made learnable on purpose: each class is a bright
bar at its own row band plus noise, so two proxy epochs reach well above chance.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 ``array`` as one IDX file."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, data.ndim)
    header += struct.pack(f">{data.ndim}I", *data.shape)
    path.write_bytes(header + data.tobytes())


def write_fashion_mnist(folder: Path, n: int = 200, size: int = 28, seed: int = 0) -> Path:
    """``n`` (B=n, H=size, W=size) images and labels in 0..9 under ``folder``; returns it."""
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
