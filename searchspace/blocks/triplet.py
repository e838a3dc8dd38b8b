"""Triplet attention.

Paper: https://arxiv.org/abs/2010.03045 (citation: :data:`searchspace.catalog.channel.TRIPLET`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


class ZPoolGate(nn.Module):
    """Gate a tensor from the max and mean over its dim 1: ``(B, D, P, Q) -> (B, D, P, Q)``.

    Z-pool to ``(B, 2, P, Q)``, a bias-free ``kernel`` x ``kernel`` conv to one map, BN,
    sigmoid, rescale. ``2 kernel^2 + 2`` parameters; BN momentum 0.01 as in the reference code.
    """

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(1, momentum=0.01)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        # Channels-last: oneDNN's 2-to-1-channel 7x7 conv trains 2-4x faster so on a CPU, and
        # its one-channel output is laid out as before (docs/performance.md, "Small gates").
        pooled = pooled.contiguous(memory_format=torch.channels_last)
        return x * torch.sigmoid(self.bn(self.conv(pooled)))


@register("triplet")
class TripletAttention(nn.Module):
    """Three Z-pool gates on rotated views: cross-dimension interaction without reduction.

    ``(B, C, H, W) -> (B, C, H, W)``. Branch ``cw`` rotates to ``(B, H, C, W)`` and gates the
    (C, W) plane, branch ``hc`` rotates to ``(B, W, H, C)`` and gates the (H, C) plane, branch
    ``hw`` gates the (H, W) plane (a CBAM-style spatial gate); the rotated outputs are turned
    back and averaged. ``3 (2 kernel^2 + 2)`` parameters: 300 at the paper's ``kernel = 7``,
    4.8K over ResNet-50's 16 blocks.
    """

    def __init__(self, channels: int, *, kernel: int = 7) -> None:
        super().__init__()
        self.cw = ZPoolGate(kernel)
        self.hc = ZPoolGate(kernel)
        self.hw = ZPoolGate(kernel)

    def forward(self, x: Tensor) -> Tensor:
        out_cw = self.cw(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        out_hc = self.hc(x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)
        return (out_cw + out_hc + self.hw(x)) / 3.0
