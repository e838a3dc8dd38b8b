"""Attention module of the Residual Attention Network.

Paper: https://arxiv.org/abs/1704.06904
(citation: :data:`searchspace.catalog.transform.RESIDUAL_ATTENTION`)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

TRUNK_UNITS = 2
"""The paper's ``t``: residual units of the trunk branch."""


class PreActBottleneck(nn.Module):
    """The paper's residual unit: pre-activation bottleneck ``C -> C/4 -> C/4 -> C`` plus input.

    ``(B, C, H, W) -> (B, C, H, W)``: BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1, bias-free convs
    (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(1, channels // 4)
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, inner, 1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(inplace=True),
            nn.Conv2d(inner, inner, 3, padding=1, bias=False),
            nn.BatchNorm2d(inner),
            nn.ReLU(inplace=True),
            nn.Conv2d(inner, channels, 1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _units(channels: int, count: int) -> nn.Sequential:
    return nn.Sequential(*(PreActBottleneck(channels) for _ in range(count)))


def _upsample(x: Tensor, like: Tensor) -> Tensor:
    """Bilinear interpolation to ``like``'s size (the reference code's ``UpsamplingBilinear2d``)."""
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=True)


@register("residual_attention")
class ResidualAttention(nn.Module):
    """Trunk ``T(x)`` and soft mask ``M(x)`` in (0, 1), output ``(1 + M(x)) * T(x)`` (eq. 3).

    ``(B, C, H, W) -> (B, C, H, W)``. Trunk: ``t = 2`` residual units. Mask branch, bottom-up
    top-down with ``depth`` levels (the paper's stage-1/2/3 modules have 3/2/1): each level
    max-pools by 3x3/2 and applies one residual unit (``r = 1``), keeping a skip unit on every
    level but the last; the bottom applies ``2r`` units; going up, each level bilinearly
    upsamples, adds its level's features and skip, and applies one unit; the top is upsampled
    to the input size and added to the trunk's output, as the reference code does. Then
    BN-ReLU-1x1, BN-ReLU-1x1 and a sigmoid give the mask (mixed attention: one weight per
    channel and position). The paper's ``p = 1`` pre/post units are the host ResNet's own
    residual blocks here, so they are not repeated. A 3x3/2 max-pool with padding 1 maps a side
    n to ceil(n / 2), so a 1x1 map stays 1x1.
    """

    def __init__(self, channels: int, *, depth: int = 2) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"residual_attention: depth must be >= 1, got {depth}")
        self.trunk = _units(channels, TRUNK_UNITS)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.down = nn.ModuleList(_units(channels, 1) for _ in range(depth - 1))
        self.skips = nn.ModuleList(_units(channels, 1) for _ in range(depth - 1))
        self.bottom = _units(channels, 2)
        self.up = nn.ModuleList(_units(channels, 1) for _ in range(depth - 1))
        self.head = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def mask(self, x: Tensor, trunk: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, H, W)``: the soft mask in (0, 1)."""
        levels: list[Tensor] = []
        skips: list[Tensor] = []
        out = x
        for down, skip_unit in zip(self.down, self.skips, strict=True):
            out = down(self.pool(out))
            levels.append(out)
            skips.append(skip_unit(out))
        out = self.bottom(self.pool(out))
        for up in self.up:  # deepest level first: pop, as TorchScript has no reversed()
            level, skip = levels.pop(), skips.pop()
            out = up(_upsample(out, level) + level + skip)
        return self.head(_upsample(out, x) + trunk)

    def forward(self, x: Tensor) -> Tensor:
        trunk = self.trunk(x)
        return (1 + self.mask(x, trunk)) * trunk
