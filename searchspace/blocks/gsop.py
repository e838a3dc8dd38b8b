"""Global second-order pooling channel attention (GSoP-Net1's block).

Paper: https://arxiv.org/abs/1811.12006 (citation: :data:`searchspace.catalog.channel.GSOP`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("gsop")
class GlobalSecondOrderPooling(nn.Module):
    """Channel gate from the covariance of the (reduced) channels.

    ``(B, C, H, W) -> (B, C, H, W)``: ReLU, 1x1 conv to ``d = max(1, C // ratio)`` channels, BN,
    ReLU; covariance over the ``N = H W`` positions, ``(B, d, d)`` (a ``bmm``: ``d^2 N``
    MACs); BN over the covariance rows, then the paper's row-wise convolution, a grouped conv
    whose ``(d, 1)`` kernels map each row to 4 outputs, ``(B, 4d, 1, 1)``; 1x1 conv back to C,
    sigmoid, rescale. The layer order follows the authors' code (ReLU before the reduction, none
    between the row-wise and the 1x1 conv). The paper reduces every stage to ``d = 128``; a ratio
    keeps the block defined for any width.
    """

    def __init__(self, channels: int, *, ratio: int = 4) -> None:
        super().__init__()
        dim = max(1, channels // ratio)
        self.reduce = nn.Conv2d(channels, dim, 1)
        self.bn = nn.BatchNorm2d(dim)
        self.act = nn.ReLU(inplace=True)
        self.row_bn = nn.BatchNorm2d(dim)
        self.row_conv = nn.Conv2d(dim, 4 * dim, (dim, 1), groups=dim)
        self.expand = nn.Conv2d(4 * dim, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        z = self.act(self.bn(self.reduce(torch.relu(x))))
        b, d = z.shape[:2]
        z = z.view(b, d, -1)
        z = z - z.mean(dim=2, keepdim=True)
        cov = torch.bmm(z, z.transpose(1, 2)) / z.shape[2]
        y = self.row_conv(self.row_bn(cov.view(b, d, d, 1)))
        return x * torch.sigmoid(self.expand(y))
