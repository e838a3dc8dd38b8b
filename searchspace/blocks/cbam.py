"""Convolutional Block Attention Module.

Paper: https://arxiv.org/abs/1807.06521 (citation: :data:`searchspace.catalog.mixed.CBAM`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("cbam")
class CBAM(nn.Module):
    """Channel gate, then spatial gate, applied in sequence (the paper's best order).

    ``(B, C, H, W) -> (B, C, H, W)``. Channel gate (eq. 2): average- and max-pooled
    ``(B, C, 1, 1)`` descriptors through one shared MLP ``C -> max(1, C // ratio) -> C`` (1x1
    convs with biases, ReLU), summed, sigmoid. Spatial gate (eq. 3): channel-wise mean and max
    ``(B, 2, H, W)`` through a ``kernel x kernel`` conv to ``(B, 1, H, W)`` with BN, as the
    reference code's ``SpatialGate`` does, then sigmoid.
    """

    def __init__(self, channels: int, *, ratio: int = 16, kernel: int = 7) -> None:
        super().__init__()
        rd_channels = max(1, channels // ratio)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1)
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.spatial_bn = nn.BatchNorm2d(1)

    def forward(self, x: Tensor) -> Tensor:
        avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        peak = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        x = x * torch.sigmoid(avg + peak)
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        # Channels-last: oneDNN's 2-to-1-channel 7x7 conv trains 2-4x faster so on a CPU, and
        # its one-channel output is laid out as before (docs/performance.md, "Small gates").
        pooled = pooled.contiguous(memory_format=torch.channels_last)
        return x * torch.sigmoid(self.spatial_bn(self.spatial(pooled)))
