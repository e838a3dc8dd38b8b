"""SAGAN self-attention.

Paper: https://arxiv.org/abs/1805.08318 (citation: :data:`searchspace.catalog.context.SAGAN`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("sagan")
class SelfAttention(nn.Module):
    """Softmax self-attention over all HW positions with a learnable residual scale.

    ``(B, C, H, W) -> (B, C, H, W)``. Following Sec. 3 of the paper: ``f(x) = W_f x``,
    ``g(x) = W_g x`` and ``h(x) = W_h x`` are 1x1 convs to ``C' = max(1, C // 8)`` channels,
    ``beta_{j,i} = softmax_i(f(x_i)^T g(x_j))`` is a ``(B, HW, HW)`` map, ``o_j = W_v sum_i
    beta_{j,i} h(x_i)`` with ``W_v`` a 1x1 conv ``C' -> C``, and ``y = gamma * o + x`` with
    ``gamma`` initialised to 0, so the network first relies on local cues.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        rd_channels = max(1, channels // 8)
        self.f = nn.Conv2d(channels, rd_channels, 1, bias=False)
        self.g = nn.Conv2d(channels, rd_channels, 1, bias=False)
        self.h = nn.Conv2d(channels, rd_channels, 1, bias=False)
        self.v = nn.Conv2d(rd_channels, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, HW, HW)``: row ``j`` holds the weights ``beta_{j, i}``."""
        keys = self.f(x).flatten(2)
        queries = self.g(x).flatten(2)
        return torch.einsum("bci,bcj->bji", keys, queries).softmax(-1)

    def forward(self, x: Tensor) -> Tensor:
        values = self.h(x).flatten(2)
        out = torch.einsum("bji,bci->bcj", self.attention(x), values)
        out = self.v(out.reshape(x.shape[0], -1, x.shape[2], x.shape[3]))
        return x + self.gamma * out
