"""Strip pooling module (SPM).

Paper: https://arxiv.org/abs/2003.13328
(citation: :data:`searchspace.catalog.context.STRIP_POOLING`)
"""

from __future__ import annotations

from torch import Tensor, nn

from searchspace.blocks import register


@register("strip_pooling")
class StripPooling(nn.Module):
    """Gate every position by the context of its row and its column.

    ``(B, C, H, W) -> (B, C, H, W)`` (Sec. 3.1, Fig. 2): average over W gives a ``(B, C, H, 1)``
    vertical strip, over H a ``(B, C, 1, W)`` horizontal one; each goes through a 1D conv of
    kernel 3 along its length and BN; broadcast back to ``H x W`` and summed, they pass a
    ReLU, a 1x1 conv and a sigmoid, which gates the input. Pooling is O(HW C); the 1D convs
    cost O((H + W) C^2), the 1x1 conv O(HW C^2).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_h = nn.Conv2d(channels, channels, (3, 1), padding=(1, 0), bias=False)
        self.bn_h = nn.BatchNorm2d(channels)
        self.conv_w = nn.Conv2d(channels, channels, (1, 3), padding=(0, 1), bias=False)
        self.bn_w = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.fuse = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        column = self.bn_h(self.conv_h(x.mean(dim=3, keepdim=True)))
        row = self.bn_w(self.conv_w(x.mean(dim=2, keepdim=True)))
        return x * self.fuse(self.relu(column + row)).sigmoid()
