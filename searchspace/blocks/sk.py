"""Selective Kernel convolution.

Paper: https://arxiv.org/abs/1903.06586 (citation: :data:`searchspace.catalog.kernel.SK`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register

MIN_HIDDEN = 32
"""``L`` of the paper's eq. 4: the fuse layer is never narrower than this."""


@register("sk")
class SelectiveKernel(nn.Module):
    """SK convolution: Split, Fuse, Select (section 3.1), replacing a 3x3 conv.

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``.

    - Split: ``branches`` 3x3 convs with dilation 1, 2, 3 (the paper's 5x5 kernel is a 3x3
      with dilation 2), ``groups`` groups and ``stride``, each followed by BN and ReLU, give
      ``U_m`` of shape ``(B, C, H', W')``.
    - Fuse: ``s = GAP(sum_m U_m)`` ``(B, C)``, ``z = ReLU(BN(W s))`` with
      ``d = max(C // ratio, L)`` and ``L = 32`` (eq. 4), as a 1x1 conv without bias.
    - Select: one ``d -> C`` projection per branch, softmax across branches per channel
      (eq. 5), ``V = sum_m a_m * U_m``.
    """

    def __init__(
        self, channels: int, *, branches: int = 2, ratio: int = 16, groups: int = 1, stride: int = 1
    ) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"sk: groups={groups} must divide the {channels} channels")
        hidden = max(channels // ratio, MIN_HIDDEN)
        self.paths = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, stride, d, d, groups=groups, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )
            for d in range(1, branches + 1)
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.select = nn.Conv2d(hidden, channels * branches, 1, bias=False)
        self.branches = branches

    def forward(self, x: Tensor) -> Tensor:
        feats = torch.stack([path(x) for path in self.paths], dim=1)
        z = self.fuse(feats.sum(1).mean((2, 3), keepdim=True))
        b, _, _, _ = z.shape
        logits = self.select(z).view(b, self.branches, -1, 1, 1)
        return (feats * logits.softmax(dim=1)).sum(1)
