"""Dual attention: DANet's position and channel attention modules.

Paper: https://arxiv.org/abs/1809.02983 (citation: :data:`searchspace.catalog.context.DUAL`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("dual")
class DualAttention(nn.Module):
    """Position attention (HW x HW) and channel attention (C x C), summed onto the input.

    ``(B, C, H, W) -> (B, C, H, W)``: ``y = x + alpha * PAM(x) + beta * CAM(x)``.

    - Position attention (Sec. 3.2): 1x1 convs give queries and keys of ``max(1, C // 8)``
      channels and values of C; ``S = softmax_i(Q_j . K_i)`` is ``(B, HW, HW)``, the output
      at ``j`` is ``sum_i S_{j,i} V_i``.
    - Channel attention (Sec. 3.3): ``X = (B, C, HW)``, energy ``X X^T`` is ``(B, C, C)``; as
      in the reference code the softmax is taken over ``max_k(E_jk) - E_jk``, so channels
      that are *less* similar get more weight; the output is ``softmax(.) X``.

    ``alpha`` and ``beta`` are initialised to 0 as in the paper. Where DANet sums the two
    modules' residual outputs after separate 3x3 convs in its segmentation head, this block
    shares the input and one residual, so it is the identity at initialisation.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        rd_channels = max(1, channels // 8)
        self.query = nn.Conv2d(channels, rd_channels, 1)
        self.key = nn.Conv2d(channels, rd_channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.beta = nn.Parameter(torch.zeros(1))

    def position(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, HW)``: the position attention module's aggregate."""
        queries = self.query(x).flatten(2)
        keys = self.key(x).flatten(2)
        attention = torch.einsum("bcj,bci->bji", queries, keys).softmax(-1)
        return torch.einsum("bji,bci->bcj", attention, self.value(x).flatten(2))

    def channel(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, HW)``: the channel attention module's aggregate."""
        flat = x.flatten(2)
        energy = torch.einsum("bcn,bdn->bcd", flat, flat)
        energy = energy.amax(-1, keepdim=True) - energy
        return torch.einsum("bcd,bdn->bcn", energy.softmax(-1), flat)

    def forward(self, x: Tensor) -> Tensor:
        out = self.alpha * self.position(x) + self.beta * self.channel(x)
        return x + out.reshape(x.shape)
