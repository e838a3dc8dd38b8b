"""Asymmetric pyramid non-local block (APNB).

Paper: https://arxiv.org/abs/1908.07678
(citation: :data:`searchspace.catalog.context.ASYM_NONLOCAL`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

PYRAMID: tuple[int, ...] = (1, 3, 6, 8)
"""Output sides of the pyramid pooling that samples keys and values (Sec. 3.3)."""


def pyramid_sample(x: Tensor, sizes: list[int]) -> Tensor:
    """``(B, C, H, W) -> (B, C, S)``: adaptive average pools to ``s x s``, concatenated.

    ``S = sum(s * s)``: 110 anchors for ``(1, 3, 6, 8)``, whatever H and W are.
    """
    return torch.cat([F.adaptive_avg_pool2d(x, s).flatten(2) for s in sizes], dim=2)


@register("asym_nonlocal")
class AsymmetricNonLocal(nn.Module):
    """Non-local attention from every position to S = 110 pyramid-pooled anchors.

    ``(B, C, H, W) -> (B, C, H, W)``. As in the reference code, one 1x1 conv + BN + ReLU of
    width ``C' = max(1, C // ratio)`` gives both queries and keys, a 1x1 conv of width C' gives
    values; keys and values are pyramid-pooled to ``(B, C', S)``, the affinity
    ``softmax_S(Q^T K / sqrt(C'))`` is ``(B, HW, S)``, and a zero-initialised 1x1 conv maps the
    aggregate back to C. The segmentation head's concatenate-and-fuse conv is replaced by the
    residual sum ``x + W(O)``, so the block is the identity at initialisation. Cost O(HW S C').
    """

    def __init__(self, channels: int, *, ratio: int = 2) -> None:
        super().__init__()
        rd_channels = max(1, channels // ratio)
        self.key = nn.Sequential(
            nn.Conv2d(channels, rd_channels, 1), nn.BatchNorm2d(rd_channels), nn.ReLU(inplace=True)
        )
        self.value = nn.Conv2d(channels, rd_channels, 1)
        self.W = nn.Conv2d(rd_channels, channels, 1)
        nn.init.zeros_(self.W.weight)
        nn.init.zeros_(self.W.get_parameter("bias"))
        # An attribute, and a list: torch.jit.script reads no module-level value, and has no
        # ``tuple[int, ...]``.
        self.pyramid = list(PYRAMID)

    def attention(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, HW, S)``: each position's weights over the anchors."""
        queries = self.key(x)
        keys = pyramid_sample(queries, self.pyramid)
        scale = queries.shape[1] ** -0.5
        return (torch.einsum("bcn,bcs->bns", queries.flatten(2), keys) * scale).softmax(-1)

    def forward(self, x: Tensor) -> Tensor:
        values = pyramid_sample(self.value(x), self.pyramid)
        out = torch.einsum("bns,bcs->bcn", self.attention(x), values)
        return x + self.W(out.reshape(x.shape[0], -1, x.shape[2], x.shape[3]))
