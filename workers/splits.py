"""A dataset's seeded train/validation split, batched on a device.

The validation split is carved from the *training* data with a fixed seed (the test split is
never read, so no search decision can overfit it). Proxies then take the first
``train_samples``/``val_samples`` of each (random) split. Normalisation statistics come from
the training subset. Which data (``DataConfig``) is :mod:`workers.data`, which imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch.utils.data import Subset

from workers.augment import Augment
from workers.batches import Batches, LoaderBatches, Normalize, TensorBatches
from workers.data import DataConfig, dataset_shape, readable
from workers.datasets import DatasetSource, ImageTensors, get_source


@dataclass
class Splits:
    """The batched training and validation subsets and the image shape they yield."""

    train: Batches
    val: Batches
    in_channels: int
    input_size: int
    num_classes: int


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint random ``(train, validation)`` index tensors covering ``range(n)``."""
    n_val = round(n * val_fraction)
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"data.val_fraction: {val_fraction} of {n} images leaves an empty split; "
            "use more images or another fraction"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


@lru_cache(maxsize=2)
def _load_in_memory(name: str, data_dir: str | None, download: bool) -> ImageTensors:
    """One process-wide copy of an in-memory dataset (trials in one worker process share it)."""
    with readable(name, data_dir):
        loaded = get_source(name, data_dir, download).load_train(0)
    assert isinstance(loaded, ImageTensors), f"{name}: in-memory format returned a Dataset"
    return loaded


def load_splits(
    cfg: DataConfig,
    *,
    train_samples: int | None,
    val_samples: int | None,
    input_size: int | None,
    batch_size: int,
    augment: bool,
    seed: int,
    device: torch.device,
    channels_last: bool = False,
    num_workers: int = 2,
) -> Splits:
    """Load ``cfg``, split it, subset it and wrap both parts as :class:`Batches` on ``device``.

    ``input_size`` (``None``: native) resizes with antialiased bilinear interpolation.
    ``seed`` seeds the training batch order and the augmentation.
    """
    source = cfg.source()
    in_channels, native, num_classes = dataset_shape(cfg)
    size = input_size or native
    plan = _Plan(
        batch_size,
        torch.Generator().manual_seed(seed),
        Augment.for_size(size, source.flip) if augment else None,
        device,
        channels_last,
        num_workers,
    )
    samples = (train_samples, val_samples)
    if source.in_memory:
        train, val = _memory_batches(cfg, plan, size, samples)
    else:
        train, val = _folder_batches(cfg, source, plan, size, samples)
    return Splits(train, val, in_channels, size, num_classes)


@dataclass(frozen=True)
class _Plan:
    """How both splits are batched (the generator and augmentation serve training only)."""

    batch_size: int
    generator: torch.Generator
    augment: Augment | None
    device: torch.device
    channels_last: bool
    num_workers: int


def _memory_batches(
    cfg: DataConfig, plan: _Plan, size: int, samples: tuple[int | None, int | None]
) -> tuple[Batches, Batches]:
    """Both subsets as uint8 tensors on the device, resized once, batched by indexing."""
    data = _load_in_memory(cfg.dataset, cfg.data_dir, cfg.download)
    train_idx, val_idx = _subsets(data.labels.shape[0], cfg, *samples)
    (train_x, train_y), (val_x, val_y) = [
        (_resize(data.images[index], size).to(plan.device), data.labels[index].to(plan.device))
        for index in (train_idx, val_idx)
    ]
    norm = Normalize.from_images(train_x)
    train = TensorBatches(
        train_x,
        train_y,
        norm,
        plan.batch_size,
        generator=plan.generator,
        augment=plan.augment,
        channels_last=plan.channels_last,
    )
    val = TensorBatches(val_x, val_y, norm, 2 * plan.batch_size, channels_last=plan.channels_last)
    return train, val


def _folder_batches(
    cfg: DataConfig,
    source: DatasetSource,
    plan: _Plan,
    size: int,
    samples: tuple[int | None, int | None],
) -> tuple[Batches, Batches]:
    """Both subsets read from files by DataLoader workers; statistics from 512 images."""
    with readable(cfg.dataset, cfg.data_dir):
        folder = source.load_train(size)
    assert not isinstance(folder, ImageTensors), f"{cfg.dataset}: expected a Dataset"
    train_idx, val_idx = _subsets(len(folder), cfg, *samples)  # type: ignore[arg-type]
    train_set, val_set = Subset(folder, train_idx.tolist()), Subset(folder, val_idx.tolist())
    norm = Normalize.from_images(
        torch.stack([train_set[i][0] for i in range(min(512, len(train_set)))])
    )
    train = LoaderBatches(
        train_set,
        norm,
        plan.batch_size,
        plan.device,
        generator=plan.generator,
        augment=plan.augment,
        num_workers=plan.num_workers,
        channels_last=plan.channels_last,
    )
    val = LoaderBatches(
        val_set,
        norm,
        2 * plan.batch_size,
        plan.device,
        num_workers=plan.num_workers,
        channels_last=plan.channels_last,
    )
    return train, val


def _subsets(
    n: int, cfg: DataConfig, train_samples: int | None, val_samples: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    train_idx, val_idx = split_indices(n, cfg.val_fraction, cfg.split_seed)
    return train_idx[:train_samples], val_idx[:val_samples]


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> uint8 ``(N, C, size, size)`` (unchanged when already so)."""
    if images.shape[-2:] == (size, size):
        return images
    resized = F.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.round_().clamp_(0, 255).to(torch.uint8)
