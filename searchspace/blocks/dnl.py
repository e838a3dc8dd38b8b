"""Disentangled non-local block.

Paper: https://arxiv.org/abs/2006.06668 (citation: :data:`searchspace.catalog.decomposition.DNL`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("dnl")
class DisentangledNonLocal(nn.Module):
    """``z = x + BN(W (y_pairwise + y_unary))``: the non-local attention split in two terms.

    ``(B, C, H, W) -> (B, C, H, W)``. ``q``, ``k`` and ``g`` are 1x1 convs to the inner width
    ``max(1, C // ratio)``; ``N = HW``. The paper (eq. 7) replaces the embedded Gaussian
    ``softmax_j(q_i . k_j)`` by

    - the *whitened pairwise* term ``softmax_j((q_i - mu_q) . (k_j - mu_k) / (sqrt(C') t))``,
      ``mu`` the means over the N positions (what pixel i relates to, free of what is salient
      for every pixel), with the temperature ``t`` and the ``sqrt(C')`` scale of the reference
      implementation (mmsegmentation's ``DisentangledNonLocal2d``, ``t = 0.05``);
    - plus the *unary* term ``softmax_j(m_j)``, ``m = W_m x`` a 1x1 conv to one channel: which
      pixels are salient for all, the same for every i. Its aggregate ``sum_j softmax_j(m) g_j``
      is one vector per image, broadcast over positions.

    The affinity is ``(B, N, N)``: O((HW)^2), so the block is declared late-only. W's BN has
    its gamma and beta initialised to zero, as the non-local block's: identity at init.
    """

    def __init__(self, channels: int, *, ratio: int = 2, temperature: float = 0.05) -> None:
        super().__init__()
        inner = max(1, channels // ratio)
        self.scale = 1.0 / (inner**0.5 * temperature)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.unary = nn.Conv2d(channels, 1, 1)
        self.W = nn.Conv2d(inner, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def pairwise(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, N, N)``: the whitened pairwise weights, rows are positions i."""
        q = self.query(x).flatten(2)
        k = self.key(x).flatten(2)
        q = q - q.mean(dim=2, keepdim=True)
        k = k - k.mean(dim=2, keepdim=True)
        return (torch.einsum("bci,bcj->bij", q, k) * self.scale).softmax(-1)

    def forward(self, x: Tensor) -> Tensor:
        g = self.g(x).flatten(2)
        y = torch.einsum("bij,bcj->bci", self.pairwise(x), g)
        unary = self.unary(x).flatten(2).softmax(-1)
        y = y + torch.einsum("boj,bcj->bco", unary, g)
        y = y.reshape(x.shape[0], -1, x.shape[2], x.shape[3])
        return x + self.bn(self.W(y))
