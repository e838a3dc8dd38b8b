"""Bottleneck Attention Module.

Paper: https://arxiv.org/abs/1807.06514 (citation: :data:`searchspace.catalog.mixed.BAM`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("bam")
class BAM(nn.Module):
    """Residual attention ``x * (1 + sigmoid(M_c(x) + M_s(x)))`` from two parallel branches.

    ``(B, C, H, W) -> (B, C, H, W)``, with ``r = max(1, C // ratio)``:

    - channel branch ``M_c`` (eq. 3): global average pool ``(B, C, 1, 1)``, MLP
      ``C -> r -> C``, giving ``(B, C, 1, 1)``;
    - spatial branch ``M_s`` (eq. 4): 1x1 conv ``C -> r``, two 3x3 convs with ``dilation``,
      1x1 conv ``r -> 1``, giving ``(B, 1, H, W)``.

    BN and ReLU follow every hidden layer, as in the authors' released code (the equations
    write one BN per branch output). The two maps broadcast to ``(B, C, H, W)`` and are
    summed before the sigmoid (eq. 2; the released code multiplies them, we follow the
    paper); the result refines the input residually, ``F' = F + F * M(F)`` (eq. 1). The
    paper's defaults are ``ratio=16`` and ``dilation=4``, and it places BAM between stages
    (``stage_end``).
    """

    def __init__(self, channels: int, *, ratio: int = 16, dilation: int = 4) -> None:
        super().__init__()
        rd_channels = max(1, channels // ratio)
        self.channel_gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, rd_channels, 1),
            nn.BatchNorm2d(rd_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(rd_channels, channels, 1),
        )
        self.spatial_gate = nn.Sequential(
            *_conv_bn_relu(channels, rd_channels, 1, 1),
            *_conv_bn_relu(rd_channels, rd_channels, 3, dilation),
            *_conv_bn_relu(rd_channels, rd_channels, 3, dilation),
            nn.Conv2d(rd_channels, 1, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.channel_gate(x) + self.spatial_gate(x))
        return x + x * gate


def _conv_bn_relu(inp: int, out: int, kernel: int, dilation: int) -> list[nn.Module]:
    """A same-size conv (padding ``dilation * (kernel // 2)``), BN and ReLU."""
    pad = dilation * (kernel // 2)
    return [
        nn.Conv2d(inp, out, kernel, padding=pad, dilation=dilation),
        nn.BatchNorm2d(out),
        nn.ReLU(inplace=True),
    ]
