"""Modulated deformable convolution (DCNv2) through ``torchvision.ops.deform_conv2d``.

Paper: https://arxiv.org/abs/1811.11168 (citation: :data:`searchspace.catalog.kernel.DEFORM`)
(v1: Dai et al., ICCV 2017, https://arxiv.org/abs/1703.06211)

The one block whose exported module imports torchvision: the sampling kernel is
torchvision's ``torchvision::deform_conv2d`` operator, which also has meta kernels, so the
cost model runs it on the meta device. ``FlopCounterMode`` does not know it; its formula is
registered in :data:`searchspace.flops.EXTRA_FLOP_FORMULAS` below. Training on the CPU
samples through ``F.grid_sample`` instead (:func:`sampled_taps`), the same values and
gradients several times faster.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import deform_conv2d

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training
from searchspace.flops import EXTRA_FLOP_FORMULAS


@register("deform")
class DeformConv(nn.Module):
    """A 3x3 conv sampling at learned, per-pixel offsets, each sample scaled by a mask.

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. A plain 3x3 conv with the
    same stride predicts, per output pixel and per offset group, 9 ``(dy, dx)`` offsets and 9
    modulation scalars, ``(B, 3 * 9 * offset_groups, H', W')``; the masks go through a
    sigmoid (section 3.1). That conv is zero-initialised, so training starts from the regular
    grid with every mask at 0.5, as in the paper. The main kernel ``(C, C // groups, 3, 3)``
    is He-initialised like the conv it replaces and has no bias (BN follows).
    """

    def __init__(
        self, channels: int, *, groups: int = 1, offset_groups: int = 1, stride: int = 1
    ) -> None:
        super().__init__()
        for name, value in (("groups", groups), ("offset_groups", offset_groups)):
            if channels % value:
                raise ValueError(f"deform: {name}={value} must divide the {channels} channels")
        self.stride, self.groups, self.offset_groups = stride, groups, offset_groups
        self.weight = nn.Parameter(torch.empty(channels, channels // groups, 3, 3))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.offset = nn.Conv2d(channels, 27 * offset_groups, 3, stride, 1)
        for tensor in self.offset.parameters():
            nn.init.zeros_(tensor)

    def forward(self, x: Tensor) -> Tensor:
        predicted = self.offset(x)
        split = 18 * self.offset_groups
        offset, mask = predicted[:, :split], torch.sigmoid(predicted[:, split:])
        if cpu_training(self.training, x) and x.shape[-2] > 1 and x.shape[-1] > 1:
            taps = sampled_taps(x, offset, mask, self.stride, self.offset_groups)
            kernel = self.weight.reshape(self.weight.shape[0], -1, 1, 1)
            return F.conv2d(taps, kernel, groups=self.groups)
        # Pairs, not ints: the form torch.jit.script accepts (the eager function pairs ints).
        stride = (self.stride, self.stride)
        return deform_conv2d(x, offset, self.weight, None, stride, (1, 1), (1, 1), mask)


def sampled_taps(
    x: Tensor, offset: Tensor, mask: Tensor, stride: int, offset_groups: int
) -> Tensor:
    """``(B, C, H, W) -> (B, 9 C, H', W')``: channel ``9 c + k`` holds input channel c sampled
    at kernel tap k (row-major 3x3) of every output pixel, moved by its offset and scaled by its
    mask, in ``torchvision.ops.deform_conv2d``'s layouts (per offset group, 9 ``(dy, dx)``
    pairs, then 9 masks); a 1x1 conv of it with the kernel reshaped ``(C_out, 9 C / groups)``
    is the deformable convolution, for training on the CPU.

    The samples are one bilinear ``F.grid_sample`` (zero outside the map, as
    torchvision's), with the pixel coordinates ``stride * i - 1 + ky + dy`` normalised for
    ``align_corners=True``: so a map of side 1 cannot take it. torchvision's CPU backward
    computes every sample's gradient in scalar loops and took 84 % of a training step of a
    network of the block; grid_sample's is vectorised. On this project's 2-core CPU a training
    step of that network took 0.15 of the time (6.6x; ``bench/block_speed.py``,
    docs/performance.md). In eval mode, without autograd (the cost model counts the operator
    by its own formula), on CUDA and on maps of side 1 the operator stays.
    """
    b, c, h, w = x.shape
    rows, cols = offset.shape[-2:]
    moved = offset.view(b, offset_groups, 9, 2, rows, cols)
    tap = torch.arange(3, device=x.device, dtype=x.dtype)
    tap_y, tap_x = tap.repeat_interleave(3).view(9, 1, 1), tap.repeat(3).view(9, 1, 1)
    grid_y = (torch.arange(rows, device=x.device, dtype=x.dtype) * stride - 1).view(1, rows, 1)
    grid_x = (torch.arange(cols, device=x.device, dtype=x.dtype) * stride - 1).view(1, 1, cols)
    at_y = grid_y + tap_y + moved[:, :, :, 0]  # (B, groups, 9, H', W') in pixels
    at_x = grid_x + tap_x + moved[:, :, :, 1]
    grid = torch.stack([at_x * (2 / (w - 1)) - 1, at_y * (2 / (h - 1)) - 1], dim=-1)
    sampled = F.grid_sample(
        x.reshape(b * offset_groups, c // offset_groups, h, w),
        grid.view(b * offset_groups, 9 * rows, cols, 2),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    )
    sampled = sampled.view(b, offset_groups, c // offset_groups, 9, rows, cols)
    scaled = sampled * mask.view(b, offset_groups, 1, 9, rows, cols)
    return scaled.reshape(b, 9 * c, rows, cols)


def deform_conv2d_flop(
    input_shape: Any, weight_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """FLOPs of ``torchvision::deform_conv2d``: 2 per multiply-accumulate of the conv.

    Counted like a regular conv, ``out elements * (C_in / groups) * kh * kw``; the bilinear
    sampling and the mask product are element-wise work, which the cost model never counts.
    """
    return 2 * math.prod(out_shape) * math.prod(weight_shape[1:])


EXTRA_FLOP_FORMULAS[torch.ops.torchvision.deform_conv2d] = deform_conv2d_flop
