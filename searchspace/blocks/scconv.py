"""Self-calibrated convolution (SCNet).

Paper: http://mftp.mmcheng.net/Papers/20cvprSCNet.pdf
(citation: :data:`searchspace.catalog.kernel.SCCONV`)
(code: https://github.com/MCG-NKU/SCNet)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register


@register("scconv")
class SelfCalibratedConv(nn.Module):
    """A 3x3 conv whose channels are split into a plain and a self-calibrated half (fig. 2).

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. The first
    ``C1 = ceil(C / 2)`` channels ``X1`` are calibrated (eq. 1-4)::

        T1  = AvgPool_r(X1)                       # r = pooling_r, (B, C1, H / r, W / r)
        X1' = Up(K2(T1))                          # nearest upsampling back to (H, W)
        Y1' = K3(X1) * sigmoid(X1 + X1')
        Y1  = K4(Y1')                             # carries the stride

    and the other ``C2 = floor(C / 2)`` channels go through a plain strided 3x3 conv ``K1``;
    the output is ``cat(Y1, Y2)``. Every ``K`` is a 3x3 conv of its half's width followed by
    BN, as in the reference code; the ReLU after the concatenation is the ResNet's. With
    ``C == 1`` there is no plain half and the block is the calibrated path alone.
    """

    def __init__(self, channels: int, *, pooling_r: int = 4, stride: int = 1) -> None:
        super().__init__()
        calibrated, plain = channels - channels // 2, channels // 2
        self.pooling_r = pooling_r
        self.k1 = _conv_bn(plain, stride) if plain else None
        self.k2 = _conv_bn(calibrated, 1)
        self.k3 = _conv_bn(calibrated, 1)
        self.k4 = _conv_bn(calibrated, stride)
        self.calibrated = calibrated

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, : self.calibrated], x[:, self.calibrated :]
        r = self.pooling_r
        context = self.k2(F.avg_pool2d(x1, r, r, ceil_mode=True))
        context = F.interpolate(context, size=(x.shape[2], x.shape[3]), mode="nearest")
        y1 = self.k4(self.k3(x1) * torch.sigmoid(x1 + context))
        if self.k1 is None:
            return y1
        return torch.cat([y1, self.k1(x2)], dim=1)


def _conv_bn(channels: int, stride: int) -> nn.Sequential:
    """A 3x3 conv without bias, ``channels -> channels`` with ``stride``, then BN."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, stride, 1, bias=False), nn.BatchNorm2d(channels)
    )
