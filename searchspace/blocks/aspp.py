"""Atrous Spatial Pyramid Pooling, as a stage-end plug-in.

Paper: https://arxiv.org/abs/1706.05587 (citation: :data:`searchspace.catalog.mixed.ASPP`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("aspp")
class ASPP(nn.Module):
    """DeepLab v3's ASPP (section 3.3), projected back to ``C`` and added to its input.

    ``(B, C, H, W) -> (B, C, H, W)``. Five parallel branches of ``rd = max(1, C // 8)``
    channels (DeepLab's 2048 -> 256), each conv + BN + ReLU: a 1x1 conv, three 3x3 convs with
    the atrous ``rates`` (``"6-12-18"``: the paper's rates at output stride 16), and image
    pooling (global average pool, 1x1 conv, broadcast back to ``H x W``: the paper's
    bilinear upsampling of a 1x1 map). Their
    ``(B, 5 rd, H, W)`` concatenation is projected by a 1x1 conv and BN to ``C`` and added to
    the input. DeepLab returns the projection itself (with ReLU) as the segmentation
    features; inside a classifier we keep the residual path instead, and zero-initialise the
    projection's BN scale so the block starts as the identity (Goyal et al. 2017,
    https://arxiv.org/abs/1706.02677) and does not disturb the backbone it is inserted in.
    """

    def __init__(self, channels: int, *, rates: str = "6-12-18") -> None:
        super().__init__()
        rd_channels = max(1, channels // 8)
        dilations = parse_rates(rates)
        self.branches = nn.ModuleList(
            [_conv_bn_relu(channels, rd_channels, 1, 1)]
            + [_conv_bn_relu(channels, rd_channels, 3, d) for d in dilations]
        )
        self.image_pool = _conv_bn_relu(channels, rd_channels, 1, 1)
        width = rd_channels * (len(dilations) + 2)
        self.project = nn.Conv2d(width, channels, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.project_bn.weight)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.image_pool(x.mean((2, 3), keepdim=True))
        features = [branch(x) for branch in self.branches]
        features.append(pooled.expand(-1, -1, x.shape[2], x.shape[3]))
        return x + self.project_bn(self.project(torch.cat(features, dim=1)))


def parse_rates(rates: str) -> tuple[int, ...]:
    """``"6-12-18"`` -> ``(6, 12, 18)``; ``ValueError`` for anything but positive integers."""
    try:
        values = tuple(int(r) for r in rates.split("-"))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise ValueError(f"aspp rates: expected dash-separated positive integers, got {rates!r}")
    return values


def _conv_bn_relu(inp: int, out: int, kernel: int, dilation: int) -> nn.Sequential:
    """A same-size conv without bias (padding ``dilation * (kernel // 2)``), BN and ReLU."""
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU(inplace=True),
    )
