"""Expectation-maximisation attention unit (EMAU).

Paper: https://arxiv.org/abs/1907.13426 (citation: :data:`searchspace.catalog.context.EMA`)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register


@register("ema")
class EMAttention(nn.Module):
    """Fit K bases to the feature map by EM, rebuild the map from them, add it back.

    ``(B, C, H, W) -> (B, C, H, W)`` (Sec. 3.2): a 1x1 conv ``C -> C`` gives ``X`` ``(B, C, HW)``;
    starting from the bases ``mu`` ``(C, K)`` each of ``iterations`` steps does

    - E: responsibilities ``Z = softmax_K(X^T mu)``, ``(B, HW, K)``;
    - M: ``mu = X Z / sum_n Z`` then L2-normalised over C, ``(B, C, K)``;

    then ``X~ = mu Z^T`` (rank <= K), ReLU, a 1x1 conv with BN, the residual add and a ReLU.

    Departure from the paper, which updates the initial bases by a moving average of the
    batch's final bases outside autograd: here they are an ``nn.Parameter`` learnt by
    gradient through the unrolled EM steps, so the module is deterministic, in ``state_dict``,
    and has no forward-time buffer writes (meta device, ``torch.export``). Initial bases are
    drawn from ``N(0, 2/K)`` and L2-normalised, as in the reference code.
    """

    def __init__(self, channels: int, *, bases: int = 64, iterations: int = 3) -> None:
        super().__init__()
        self.iterations = iterations
        self.bases = nn.Parameter(torch.empty(channels, bases))
        self.conv_in = nn.Conv2d(channels, channels, 1)
        self.conv_out = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        with torch.no_grad():
            self.bases.normal_(0.0, math.sqrt(2.0 / bases))
            self.bases.copy_(F.normalize(self.bases, dim=0))

    def em(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, C, N) -> (mu (B, C, K), Z (B, N, K))`` after ``iterations`` EM steps."""
        mu = self.bases.expand(x.shape[0], -1, -1)
        z = x.new_zeros(x.shape[0], x.shape[2], mu.shape[2])
        for _ in range(self.iterations):
            z = torch.einsum("bcn,bck->bnk", x, mu).softmax(-1)
            weights = z / (1e-6 + z.sum(dim=1, keepdim=True))
            mu = F.normalize(torch.einsum("bcn,bnk->bck", x, weights), dim=1, eps=1e-6)
        return mu, z

    def forward(self, x: Tensor) -> Tensor:
        features = self.conv_in(x).flatten(2)
        mu, z = self.em(features)
        rebuilt = torch.einsum("bck,bnk->bcn", mu, z).reshape(x.shape).relu()
        return (x + self.bn(self.conv_out(rebuilt))).relu()
