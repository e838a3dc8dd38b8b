"""The seeded split, the subsets, normalisation, resizing and the batch iterators."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.workers.datasets import write_fashion_mnist, write_image_folder
from workers.augment import random_crop_flip
from workers.data import DataConfig
from workers.splits import load_splits, split_indices

CPU = torch.device("cpu")


def test_split_is_disjoint_covering_and_seeded() -> None:
    train, val = split_indices(100, 0.2, seed=1)
    assert len(val) == 20 and len(train) == 80
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    again = split_indices(100, 0.2, seed=1)
    assert torch.equal(train, again[0]) and torch.equal(val, again[1])
    assert not torch.equal(val, split_indices(100, 0.2, seed=2)[1])


def _splits(root: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = dict(
        train_samples=None, val_samples=None, input_size=None, batch_size=16, augment=False, seed=0
    )
    options.update(kwargs)
    cfg = DataConfig(data_dir=str(root), download=False, val_fraction=0.25)
    return load_splits(cfg, device=CPU, **options)  # type: ignore[arg-type]


def _source_ids(batches) -> list[int]:  # type: ignore[no-untyped-def]
    """Pixel (0, 0) encodes the source image index (mod 256), see tests/workers/datasets.py."""
    norm = batches.normalize
    return [
        round(float((x[i, 0, 0, 0] - norm.shift[0]) / norm.scale[0]))
        for x, _ in batches
        for i in range(x.shape[0])
    ]


def test_validation_images_never_train(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=200)
    splits = _splits(tmp_path)
    assert (splits.train.num_samples, splits.val.num_samples) == (150, 50)
    train_ids, val_ids = set(_source_ids(splits.train)), set(_source_ids(splits.val))
    assert len(val_ids) == 50 and not train_ids & val_ids


def test_subsets_are_capped_and_training_drops_the_partial_batch(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=200)
    splits = _splits(tmp_path, train_samples=40, val_samples=1000)
    assert splits.train.num_samples == 40 and splits.val.num_samples == 50
    assert len(splits.train) == 2 and sum(x.shape[0] for x, _ in splits.train) == 32
    assert len(splits.val) == 2 and sum(x.shape[0] for x, _ in splits.val) == 50


def test_normalisation_comes_from_the_training_split(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=200)
    splits = _splits(tmp_path, batch_size=1000)
    x = torch.cat([x for x, _ in splits.train])
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-2


def test_resize_and_seeded_order(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=200)
    first = _splits(tmp_path, input_size=12, augment=True, seed=5)
    assert first.input_size == 12
    x, _ = next(iter(first.train))
    assert x.shape == (16, 1, 12, 12)
    again = next(iter(_splits(tmp_path, input_size=12, augment=True, seed=5).train))[0]
    other = next(iter(_splits(tmp_path, input_size=12, augment=True, seed=6).train))[0]
    assert torch.equal(x, again) and not torch.equal(x, other)


def test_crop_and_flip_move_pixels_exactly() -> None:
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(random_crop_flip(x, g, padding=0, flip=False), x)
    flipped = [random_crop_flip(x, g, padding=0, flip=True) for _ in range(20)]
    for out in flipped:
        for i in range(2):
            assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(-1))
    assert any(not torch.equal(out, x) for out in flipped)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    out = random_crop_flip(x, g, padding=2, flip=False)
    for i in range(2):
        windows = [padded[i, :, r : r + 5, c : c + 5] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)


def test_image_folder_batches_through_a_dataloader(tmp_path: Path) -> None:
    write_image_folder(tmp_path, n=24)
    cfg = DataConfig(dataset="imagefolder", data_dir=str(tmp_path), val_fraction=0.25)
    splits = load_splits(
        cfg,
        train_samples=None,
        val_samples=None,
        input_size=16,
        batch_size=8,
        augment=True,
        seed=0,
        device=CPU,
    )
    assert (splits.in_channels, splits.input_size, splits.num_classes) == (3, 16, 3)
    xs = [x for x, _ in splits.train]
    assert len(xs) == 2 and xs[0].shape == (8, 3, 16, 16) and xs[0].dtype == torch.float32
    assert sum(y.shape[0] for _, y in splits.val) == 6
