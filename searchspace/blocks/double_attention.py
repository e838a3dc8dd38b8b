"""Double attention (A²) block.

Paper: https://arxiv.org/abs/1810.11579
(citation: :data:`searchspace.catalog.context.DOUBLE_ATTENTION`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("double_attention")
class DoubleAttention(nn.Module):
    """Gather global descriptors by second-order attention pooling, then distribute them.

    ``(B, C, H, W) -> (B, C, H, W)``, with ``m = n = max(1, C // ratio)`` (Sec. 3):

    - three 1x1 convs give features ``A`` ``(B, m, HW)``, gathering maps ``B`` ``(B, n, HW)``
      (softmax over the HW positions) and distribution vectors ``V`` ``(B, n, HW)`` (softmax
      over the n descriptors at each position);
    - gather: ``G = A B^T``, ``(B, m, n)``: n global descriptors of m features;
    - distribute: ``Z = G V``, ``(B, m, HW)``: each position takes its mix of descriptors;
    - a 1x1 conv expands ``m -> C`` and the result is added to the input (Fig. 2).

    Cost is O(HW m n): linear in the number of positions.
    """

    def __init__(self, channels: int, *, ratio: int = 4) -> None:
        super().__init__()
        rd_channels = max(1, channels // ratio)
        self.features = nn.Conv2d(channels, rd_channels, 1)
        self.gather_maps = nn.Conv2d(channels, rd_channels, 1)
        self.distribute_maps = nn.Conv2d(channels, rd_channels, 1)
        self.expand = nn.Conv2d(rd_channels, channels, 1)

    def descriptors(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, m, n)``: the gathered global descriptors ``G``."""
        features = self.features(x).flatten(2)
        gather = self.gather_maps(x).flatten(2).softmax(-1)
        return torch.einsum("bmp,bnp->bmn", features, gather)

    def forward(self, x: Tensor) -> Tensor:
        distribute = self.distribute_maps(x).flatten(2).softmax(1)
        z = torch.einsum("bmn,bnp->bmp", self.descriptors(x), distribute)
        return x + self.expand(z.reshape(x.shape[0], -1, x.shape[2], x.shape[3]))
