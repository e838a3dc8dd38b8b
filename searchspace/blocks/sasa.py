"""Stand-alone local self-attention.

Paper: https://arxiv.org/abs/1906.05909 (citation: :data:`searchspace.catalog.kernel.SASA`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register


@register("sasa")
class LocalSelfAttention(nn.Module):
    """Multi-head attention over each pixel's ``extent x extent`` neighbourhood (section 2.2).

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. Queries, keys and values
    are 1x1 convs ``C -> C`` without bias, split into ``heads`` heads of ``d = C // heads``
    channels. Each output pixel is ``sum_ab softmax_ab(q_ij . k_ab + q_ij . r_{a-i,b-j}) v_ab``
    over its neighbourhood (the paper's eq. 3, unscaled): ``r`` is the concatenation of a row
    embedding (``ceil(d / 2)`` dims) and a column embedding (``floor(d / 2)`` dims) per head,
    so the block adds ``C * extent`` position parameters. Zero-padded neighbours outside the
    map are masked out, so the weights of every pixel sum to one. ``stride`` 2 is a 2x2
    average pool after the attention, as the paper does (``ceil_mode`` keeps odd sizes).

    Neighbourhoods are strided views of the padded map (``Tensor.unfold``, no im2col copy)
    contracted with ``einsum``, so the cost model counts the ``q.k``, ``q.r`` and ``attn.v``
    products as (batched) matmuls. Memory grows with ``extent ** 2`` times the feature map.
    """

    def __init__(self, channels: int, *, extent: int = 7, heads: int = 8, stride: int = 1) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"sasa: heads={heads} must divide the {channels} channels")
        if extent < 1 or extent % 2 == 0:
            raise ValueError(f"sasa: extent must be an odd window side, got {extent}")
        dim_head = channels // heads
        self.heads, self.extent, self.stride = heads, extent, stride
        self.query = nn.Conv2d(channels, channels, 1, bias=False)
        self.key = nn.Conv2d(channels, channels, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1, bias=False)
        rows, cols = dim_head - dim_head // 2, dim_head // 2
        self.rel_rows = nn.Parameter(torch.randn(heads, rows, extent) * dim_head**-0.5)
        self.rel_cols = nn.Parameter(torch.randn(heads, cols, extent) * dim_head**-0.5)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        n, d, k = self.heads, c // self.heads, self.extent
        q = self.query(x).reshape(b, n, d, h, w)
        keys = self.windows(self.key(x)).reshape(b, n, d, h, w, k, k)
        values = self.windows(self.value(x)).reshape(b, n, d, h, w, k, k)
        logits = torch.einsum("bndhw,bndhwij->bnhwij", q, keys)
        logits = logits + torch.einsum("bndhw,ndij->bnhwij", q, self.relative_embedding())
        inside = self.windows(x.new_ones(1, 1, h, w))[0, 0] > 0
        logits = logits.masked_fill(~inside, float("-inf")).flatten(4)
        attn = logits.softmax(dim=4).reshape(b, n, h, w, k, k)
        out = torch.einsum("bnhwij,bndhwij->bndhw", attn, values).reshape(b, c, h, w)
        if self.stride > 1:
            out = F.avg_pool2d(out, self.stride, self.stride, ceil_mode=True)
        return out

    def windows(self, x: Tensor) -> Tensor:
        """Every pixel's zero-padded neighbourhood as a view, ``(B, C, H, W, extent, extent)``."""
        k, pad = self.extent, self.extent // 2
        return F.pad(x, (pad, pad, pad, pad)).unfold(2, k, 1).unfold(3, k, 1)

    def relative_embedding(self) -> Tensor:
        """``r`` of every window offset: ``(heads, d, extent, extent)``, rows then columns."""
        n, k = self.heads, self.extent
        rows = self.rel_rows.unsqueeze(3).expand(n, -1, k, k)
        cols = self.rel_cols.unsqueeze(2).expand(n, -1, k, k)
        return torch.cat([rows, cols], dim=1)
