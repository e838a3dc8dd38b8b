"""Multi-head self-attention of the Bottleneck Transformer (BoTNet).

Paper: https://arxiv.org/abs/2101.11605 (citation: :data:`searchspace.catalog.relation.MHSA`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training

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
        rows, cols = self.position_terms(q)
        return rows[..., :, None] + cols[..., None, :]

    def position_terms(self, q: Tensor) -> tuple[Tensor, Tensor]:
        """``q_i . R^h_{y-hi}`` for every row y, ``(B, n, H, W, H)``, and ``q_i . R^w_{x-wi}``
        for every column x, ``(B, n, H, W, W)``: the position logits before their outer sum."""
        h, w = q.shape[-2:]
        rel_h = self.rel_height[relative_index(h, q.device)]
        rel_w = self.rel_width[relative_index(w, q.device)]
        rows = torch.einsum("bndhw,hyd->bnhwy", q, rel_h)
        cols = torch.einsum("bndhw,wxd->bnhwx", q, rel_w)
        return rows, cols

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).reshape(b, 3, self.heads, c // self.heads, h, w).unbind(1)
        if cpu_training(self.training, x):
            out = self.attend_fused(q, k, v)
        else:
            logits = torch.einsum("bndhw,bndyx->bnhwyx", q, k) + self.position_logits(q)
            attn = (logits * self.scale).flatten(4).softmax(dim=4).reshape(logits.shape)
            out = torch.einsum("bnhwyx,bndyx->bndhw", attn, v).reshape(b, c, h, w)
        if self.stride > 1:
            out = F.avg_pool2d(out, self.stride, self.stride, ceil_mode=True)
        return out

    def attend_fused(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """``(B, n, d, H, W)`` x3 ``-> (B, n d, H, W)``: the attention as one fused
        ``F.scaled_dot_product_attention``, for training on the CPU.

        Both logit terms are dot products once the vectors are augmented: ``[q_i, (q_i .
        R^h_{y-hi})_y, (q_i . R^w_{x-wi})_x] . [k_j, onehot(hj), onehot(wj)] = q_i . k_j + q_i .
        R^h_{hj-hi} + q_i . R^w_{wj-wi}``, ``d + H + W`` wide. So the fused kernel computes the
        softmax and its weighted sum without the ``(B, n, HW, HW)`` logits, their position sum,
        scaled copy and softmax in memory (the values are zero-padded to that width, as the
        CPU's fused kernel wants equal widths). On this project's 2-core CPU a training step
        of a network of the block took 0.4 of the time (2.4x; ``bench/block_speed.py``,
        docs/performance.md). In eval mode, without autograd (the cost model counts the
        einsums' multiply-accumulates) and on CUDA the einsums stay.
        """
        b, n, d, h, w = q.shape
        rows, cols = self.position_terms(q)  # (B, n, H, W, H), (B, n, H, W, W)
        queries = torch.cat(
            [q.flatten(3).transpose(2, 3), rows.flatten(2, 3), cols.flatten(2, 3)], dim=3
        )
        eye_h = torch.eye(h, dtype=q.dtype, device=q.device).repeat_interleave(w, dim=0)
        eye_w = torch.eye(w, dtype=q.dtype, device=q.device).repeat(h, 1)
        where = torch.cat([eye_h, eye_w], dim=1).expand(b, n, h * w, h + w)  # (hj, wj) of key j
        keys = torch.cat([k.flatten(3).transpose(2, 3), where], dim=3)
        values = F.pad(v.flatten(3).transpose(2, 3), (0, h + w))
        out = F.scaled_dot_product_attention(queries, keys, values, scale=self.scale)
        return out[..., :d].transpose(2, 3).reshape(b, n * d, h, w)
