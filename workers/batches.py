"""Mini-batches for one epoch, normalised (and augmented) on the training device.

Two sources behind one interface, :class:`Batches`:

- :class:`TensorBatches`: a split held in memory as uint8 on the device, batched by indexing
  with a seeded permutation (no per-sample DataLoader: Fashion-MNIST and CIFAR fit easily).
- :class:`LoaderBatches`: a ``Dataset`` of uint8 images (ImageFolder) read by a DataLoader
  with worker processes and pinned memory, for data that should not sit in memory.

Both yield ``x`` float ``(B, C, H, W)`` normalised with the training split's per-channel mean
and standard deviation (training batches then augmented by :class:`workers.augment.Augment`),
and ``y`` int64 ``(B,)``, on the device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from workers.augment import Augment


@dataclass(frozen=True)
class Normalize:
    """Per-channel affine map of uint8 pixels to zero mean, unit variance: ``x * scale + shift``."""

    scale: Tensor
    shift: Tensor

    @classmethod
    def from_images(cls, images: Tensor) -> Normalize:
        """Statistics of uint8 ``(N, C, H, W)`` images, accumulated in float64."""
        pixels = images.transpose(0, 1).reshape(images.shape[1], -1).double() / 255.0
        mean, std = pixels.mean(dim=1), pixels.std(dim=1).clamp_min(1e-3)
        return cls((1.0 / (255.0 * std)).float(), (-mean / std).float())

    def to(self, device: torch.device) -> Normalize:
        return Normalize(self.scale.to(device), self.shift.to(device))

    def __call__(self, images: Tensor) -> Tensor:
        """uint8 ``(B, C, H, W)`` -> float ``(B, C, H, W)``."""
        return torch.addcmul(self.shift[:, None, None], images.float(), self.scale[:, None, None])


class Batches(Protocol):
    num_samples: int
    generator: torch.Generator | None

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]: ...


class TensorBatches:
    """A split held on ``images.device``: uint8 ``(N, C, H, W)`` images, int64 ``(N,)`` labels.

    Training splits (``generator`` given) are reshuffled every epoch and drop the last partial
    batch (a batch of a few images makes batch-norm statistics noisy); evaluation splits are
    read in order, entirely.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        normalize: Normalize,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        augment: Augment | None = None,
        channels_last: bool = False,
    ) -> None:
        self.images, self.labels = images, labels
        self.normalize = normalize.to(images.device)
        self.batch_size, self.generator, self.augment = batch_size, generator, augment
        self.channels_last = channels_last
        self.num_samples = images.shape[0]
        self.drop_last = generator is not None and self.num_samples > batch_size

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self.generator is not None:
            order = torch.randperm(self.num_samples, generator=self.generator)
            order = order.to(self.images.device)
        else:
            order = torch.arange(self.num_samples, device=self.images.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self._prepare(self.images[index]), self.labels[index]

    def _prepare(self, images: Tensor) -> Tensor:
        x = self.normalize(images)
        if self.augment is not None and self.generator is not None:
            x = self.augment(x, self.generator)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


class LoaderBatches:
    """A ``Dataset`` of ``(uint8 (C, H, W), label)`` read by a DataLoader, prepared on device."""

    def __init__(
        self,
        dataset: Dataset[tuple[Tensor, int]],
        normalize: Normalize,
        batch_size: int,
        device: torch.device,
        *,
        generator: torch.Generator | None = None,
        augment: Augment | None = None,
        num_workers: int = 2,
        channels_last: bool = False,
    ) -> None:
        self.num_samples = len(dataset)  # type: ignore[arg-type]
        self.device, self.generator, self.augment = device, generator, augment
        self.normalize = normalize.to(device)
        self.channels_last = channels_last
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=generator is not None,
            generator=generator,
            drop_last=generator is not None and self.num_samples > batch_size,
            num_workers=num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=num_workers > 0,
            # Workers come from a fresh single-threaded server, never forked from this
            # process: a Ray worker (gRPC, heartbeat and torch threads) forked mid-malloc
            # hands its child a corrupt heap ("malloc(): unaligned fastbin chunk detected",
            # seen once in the suite's long-lived process).
            multiprocessing_context="forkserver" if num_workers > 0 else None,
        )

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for images, labels in self.loader:
            x = self.normalize(images.to(self.device, non_blocking=True))
            if self.augment is not None and self.generator is not None:
                x = self.augment(x, self.generator)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, labels.to(self.device, non_blocking=True)
