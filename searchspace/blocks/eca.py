"""Efficient Channel Attention.

Paper: https://arxiv.org/abs/1910.03151 (citation: :data:`searchspace.catalog.channel.ECA`)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from searchspace.blocks import register


def eca_kernel(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """The paper's adaptive kernel (Eq. 12): the odd number nearest ``|(log2 C + b) / gamma|``.

    Rounded up to odd as the reference code does: 64 channels -> 3, 256 -> 5, 2048 -> 7.
    """
    t = int(abs((math.log2(channels) + beta) / gamma))
    return t if t % 2 else t + 1


@register("eca")
class EfficientChannelAttention(nn.Module):
    """SE without the bottleneck: a 1D conv over the pooled channel descriptor.

    ``(B, C, H, W) -> (B, C, H, W)``: global average pool to ``(B, 1, C)``, a bias-free 1D conv
    of ``kernel`` taps across neighbouring channels (local cross-channel interaction, no
    dimensionality reduction), sigmoid, rescale the input. Adds exactly ``kernel`` weights.
    """

    def __init__(self, channels: int, *, kernel: int | str = "adaptive") -> None:
        super().__init__()
        size = eca_kernel(channels) if kernel == "adaptive" else int(kernel)
        self.conv = nn.Conv1d(1, 1, size, padding=size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        y = self.conv(x.mean(dim=(2, 3)).view(b, 1, c))
        return x * torch.sigmoid(y).view(b, c, 1, 1)
