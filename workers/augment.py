"""Light augmentation on whole batches, on the training device, in one gather.

The standard recipe of He et al. (CVPR 2016, section 4.2) for small images: pad by a few
pixels, take a random crop of the original size, mirror half the images horizontally. Done on
the normalised ``(B, C, H, W)`` batch, so zero padding is padding with the training mean.
Random offsets come from a CPU ``torch.Generator``, so a seed fixes them on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def crop_padding(size: int) -> int:
    """Padding for a ``size``-pixel image: 4 at 28-32 pixels (the CIFAR recipe), 1/8 of it."""
    return max(1, (size + 4) // 8)


@dataclass(frozen=True)
class Augment:
    """What the training split applies per batch: crop padding and whether to flip."""

    padding: int
    flip: bool

    @classmethod
    def for_size(cls, size: int, flip: bool) -> Augment:
        """The recipe for ``size``-pixel images (:func:`crop_padding`); ``flip`` where the data
        allows mirroring."""
        return cls(crop_padding(size), flip)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """``(B, C, H, W) -> (B, C, H, W)``, offsets and flips drawn from ``generator``."""
        return random_crop_flip(x, generator, padding=self.padding, flip=self.flip)


def random_crop_flip(x: Tensor, generator: torch.Generator, *, padding: int, flip: bool) -> Tensor:
    """Random ``padding``-pixel translation and (if ``flip``) horizontal mirroring per image.

    ``(B, C, H, W) -> (B, C, H, W)``. The flip is folded into the column index of the crop,
    so the whole batch is two ``gather`` calls on the padded tensor.
    """
    batch, channels, height, width = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator)
    rows = offsets[0, :, None] + torch.arange(height)
    steps = torch.arange(width).expand(batch, width)
    if flip:
        mirrored = torch.rand(batch, generator=generator) < 0.5
        steps = torch.where(mirrored[:, None], width - 1 - steps, steps)
    cols = offsets[1, :, None] + steps
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = rows.to(x.device, non_blocking=True)[:, None, :, None]
    cols = cols.to(x.device, non_blocking=True)[:, None, None, :]
    out = padded.gather(2, rows.expand(batch, channels, height, width + 2 * padding))
    return out.gather(3, cols.expand(batch, channels, height, width))
