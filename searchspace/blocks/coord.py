"""Coordinate attention.

Paper: https://arxiv.org/abs/2103.02907 (citation: :data:`searchspace.catalog.channel.COORD`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from searchspace.blocks import register


@register("coord")
class CoordinateAttention(nn.Module):
    """Two direction-aware gates: one per row, one per column, each per channel.

    ``(B, C, H, W) -> (B, C, H, W)``: average over W gives ``(B, C, H, 1)``, over H gives
    ``(B, C, W, 1)``; concatenated to ``(B, C, H + W, 1)``, a shared 1x1 conv to
    ``mip = max(8, C // ratio)`` channels (the reference code's floor of 8), BN, hard-swish;
    split back, two 1x1 convs to C, sigmoid: ``a_h (B, C, H, 1)`` and ``a_w (B, C, 1, W)``;
    output ``x * a_h * a_w``. The gate of each channel is rank one over (h, w).
    """

    def __init__(self, channels: int, *, ratio: int = 32) -> None:
        super().__init__()
        mip = max(8, channels // ratio)
        self.conv1 = nn.Conv2d(channels, mip, 1)
        self.bn1 = nn.BatchNorm2d(mip)
        self.conv_h = nn.Conv2d(mip, channels, 1)
        self.conv_w = nn.Conv2d(mip, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        pooled_h = x.mean(dim=3, keepdim=True)
        pooled_w = x.mean(dim=2, keepdim=True).transpose(2, 3)
        y = F.hardswish(self.bn1(self.conv1(torch.cat([pooled_h, pooled_w], dim=2))))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        a_h = torch.sigmoid(self.conv_h(y_h))
        a_w = torch.sigmoid(self.conv_w(y_w.transpose(2, 3)))
        return x * a_h * a_w
