"""Tiny datasets written in each real on-disk format, read back through the real loaders.

Images are learnable on purpose: class ``k`` is a bright 6x6 square at a class-specific place
on a noisy background, and pixel ``(0, 0)`` of image ``i`` stores ``i % 256`` so tests can
tell which source image a loaded one came from.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from tests.idx import IMAGES, LABELS, write_idx


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


def write_fashion_mnist(root: Path, n: int = 240, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 grey images (:func:`make_images`) as Fashion-MNIST's two IDX files."""
    images, labels = make_images(n, 28, 1, 10)
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / IMAGES, images[:, 0], gz)
    write_idx(root / LABELS, labels.astype(np.uint8), gz)
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


def write_image_folder(root: Path, n: int = 24, size: int = 20) -> np.ndarray:
    """``n`` RGB PNGs in three classes under ``root/train/class_<k>/``; returns the labels."""
    images, labels = make_images(n, size, 3, 3)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / "train" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{i:03d}.png")
    return labels
