"""Style-based Recalibration Module.

Paper: https://arxiv.org/abs/1903.10829 (citation: :data:`searchspace.catalog.channel.SRM`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("srm")
class StyleRecalibration(nn.Module):
    """Channel gate from each channel's style: its mean and standard deviation.

    ``(B, C, H, W) -> (B, C, H, W)``: style pooling to ``(B, C, 2)`` (mean, std over H x W),
    style integration by a channel-wise fully connected layer (each channel mixes its own two
    statistics with its own two weights, zero-initialised as in the reference code) to
    ``(B, C, 1, 1)``, BatchNorm, sigmoid, rescale. Adds ``2C`` (CFC) + ``2C`` (BN) parameters.
    The std is the biased one plus ``eps`` under the root, so 1x1 maps give a finite gradient.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cfc = nn.Parameter(torch.zeros(channels, 2))
        self.bn = nn.BatchNorm2d(channels)
        self.eps = 1e-5

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        flat = x.view(b, c, -1)
        mean = flat.mean(dim=2)
        std = (flat.var(dim=2, unbiased=False) + self.eps).sqrt()
        z = mean * self.cfc[:, 0] + std * self.cfc[:, 1]
        return x * torch.sigmoid(self.bn(z.view(b, c, 1, 1)))
