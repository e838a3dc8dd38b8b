"""Recurrent criss-cross attention.

Paper: https://arxiv.org/abs/1811.11721 (citation: :data:`searchspace.catalog.context.CRISS_CROSS`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("criss_cross")
class CrissCrossAttention(nn.Module):
    """Each position attends to its row and column; ``recurrence`` passes reach every position.

    ``(B, C, H, W) -> (B, C, H, W)``. Queries and keys are 1x1 convs to ``max(1, C // 8)``
    channels, values a 1x1 conv to C (Sec. 3.2). For position ``(h, w)`` the affinities with
    the ``H + W - 1`` positions of its criss-cross path (itself counted once: the column
    term masks ``h' = h``) go through one softmax, and the values along the path are
    summed with those weights: ``y = gamma * out + x`` with ``gamma`` initialised to 0.
    The recurrent module (RCCA, Sec. 3.3) applies the same weights ``recurrence`` times;
    two passes connect every pair of positions. Cost per pass O(HW (H + W) C).
    """

    def __init__(self, channels: int, *, recurrence: int = 2) -> None:
        super().__init__()
        rd_channels = max(1, channels // 8)
        self.recurrence = recurrence
        self.query = nn.Conv2d(channels, rd_channels, 1)
        self.key = nn.Conv2d(channels, rd_channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, H, W, H + W)``: weights over column ``[:H]`` then row ``[H:]``.

        The column entry ``h' = h`` is always 0, so each row sums to 1 over ``H + W - 1``.
        """
        height = x.shape[2]
        queries, keys = self.query(x), self.key(x)
        column = torch.einsum("bchw,bcgw->bhwg", queries, keys)
        self_mask = torch.eye(height, dtype=torch.bool, device=x.device)[:, None, :]
        column = column.masked_fill(self_mask, float("-inf"))
        row = torch.einsum("bchw,bchv->bhwv", queries, keys)
        return torch.cat([column, row], dim=-1).softmax(-1)

    def criss_cross(self, x: Tensor) -> Tensor:
        """One pass of the criss-cross module."""
        height = x.shape[2]
        attention = self.attention(x)
        values = self.value(x)
        out = torch.einsum("bhwg,bcgw->bchw", attention[..., :height], values)
        out = out + torch.einsum("bhwv,bchv->bchw", attention[..., height:], values)
        return x + self.gamma * out

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.recurrence):
            x = self.criss_cross(x)
        return x
