"""Modulated deformable convolution (DCNv2) through ``torchvision.ops.deform_conv2d``.

Paper: https://arxiv.org/abs/1811.11168 (citation: :data:`searchspace.catalog.kernel.DEFORM`)
(v1: Dai et al., ICCV 2017, https://arxiv.org/abs/1703.06211)

The one block whose exported module imports torchvision: the sampling kernel is
torchvision's ``torchvision::deform_conv2d`` operator, which also has meta kernels, so the
cost model runs it on the meta device. ``FlopCounterMode`` does not know it; its formula is
registered in :data:`searchspace.flops.EXTRA_FLOP_FORMULAS` below.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.ops import deform_conv2d

from searchspace.blocks import register
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
        # Pairs, not ints: the form torch.jit.script accepts (the eager function pairs ints).
        stride = (self.stride, self.stride)
        return deform_conv2d(x, offset, self.weight, None, stride, (1, 1), (1, 1), mask)


def deform_conv2d_flop(
    input_shape: Any, weight_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """FLOPs of ``torchvision::deform_conv2d``: 2 per multiply-accumulate of the conv.

    Counted like a regular conv, ``out elements * (C_in / groups) * kh * kw``; the bilinear
    sampling and the mask product are element-wise work, which the cost model never counts.
    """
    return 2 * math.prod(out_shape) * math.prod(weight_shape[1:])


EXTRA_FLOP_FORMULAS[torch.ops.torchvision.deform_conv2d] = deform_conv2d_flop
