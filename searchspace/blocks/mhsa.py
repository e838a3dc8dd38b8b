"""Multi-head self-attention of the Bottleneck Transformer (BoTNet).

Paper: https://arxiv.org/abs/2101.11605 (citation: :data:`searchspace.catalog.relation.MHSA`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

MAX_EXTENT = 32
"""Largest map side with a distinct embedding per offset (BoTNet's c5 is 7x7 to 32x32). A default
argument where a scripted function uses it: torch.jit.script reads a default's value, never a
module-level number."""


def relative_index(size: int, device: torch.device, extent: int = MAX_EXTENT) -> Tensor:
    """``(size, size)``: row of the embedding table for offset ``j - i``, clipped at the table
    of ``2 * extent - 1`` rows."""
    positions = torch.arange(size, device=device)
    offsets = positions[None, :] - positions[:, None]
    return offsets.clamp(-(extent - 1), extent - 1) + extent - 1


@register("mhsa")
class BottleneckSelfAttention(nn.Module):
    """Global multi-head self-attention with 2-D relative position logits (Fig. 4).

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``: replaces the 3x3 conv of
    a residual block, as in BoTNet's c5. Queries, keys and values are bias-free 1x1 convs
    ``C -> C`` split into ``heads`` heads of ``d = C // heads`` channels (BoTNet: 4 heads). The
    logit of position i for position j is ``(q_i . k_j + q_i . (R^h_{hj-hi} + R^w_{wj-wi})) /
    sqrt(d)``, softmax over all HW positions j: content-content plus content-position terms,
    relative height and width embeddings ``R^h, R^w`` shared by the heads (Bello et al.,
    "Attention Augmented Convolutional Networks", ICCV 2019, whose relative logits BoTNet uses).

    BoTNet sizes ``R`` by the feature map (``2H - 1`` rows). The builder does not tell blocks
    their map size, so the tables have ``2 * MAX_EXTENT - 1`` rows, one per offset: on maps up
    to 32x32 exactly BoTNet's encoding; beyond, farther offsets share the last row (clipped as
    in Shaw et al., 2018). Stride 2 is a 2x2 average pool after the attention (BoTNet's c5
    first block). O((HW)^2) time and memory.
    """

    def __init__(self, channels: int, *, heads: int = 4, stride: int = 1) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"mhsa: heads={heads} must divide the {channels} channels")
        dim_head = channels // heads
        self.heads, self.stride, self.scale = heads, stride, dim_head**-0.5
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, bias=False)
        rows = 2 * MAX_EXTENT - 1
        self.rel_height = nn.Parameter(torch.randn(rows, dim_head) * self.scale)
        self.rel_width = nn.Parameter(torch.randn(rows, dim_head) * self.scale)

    def position_logits(self, q: Tensor) -> Tensor:
        """``(B, n, d, H, W) -> (B, n, H, W, H, W)``: ``q_i . (R^h_{hj-hi} + R^w_{wj-wi})``."""
        h, w = q.shape[-2:]
        rel_h = self.rel_height[relative_index(h, q.device)]
        rel_w = self.rel_width[relative_index(w, q.device)]
        logits_h = torch.einsum("bndhw,hyd->bnhwy", q, rel_h)
        logits_w = torch.einsum("bndhw,wxd->bnhwx", q, rel_w)
        return logits_h[..., :, None] + logits_w[..., None, :]

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).reshape(b, 3, self.heads, c // self.heads, h, w).unbind(1)
        logits = torch.einsum("bndhw,bndyx->bnhwyx", q, k) + self.position_logits(q)
        attn = (logits * self.scale).flatten(4).softmax(dim=4).reshape(logits.shape)
        out = torch.einsum("bnhwyx,bndyx->bndhw", attn, v).reshape(b, c, h, w)
        if self.stride > 1:
            out = F.avg_pool2d(out, self.stride, self.stride, ceil_mode=True)
        return out
