"""Gather-Excite.

Paper: https://arxiv.org/abs/1810.12348
(citation: :data:`searchspace.catalog.channel.GATHER_EXCITE`)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from searchspace.blocks import register


def depthwise_gather(channels: int, extent: int | str) -> nn.Sequential:
    """GE-θ's parametric gather: depthwise convs with BN, ``(B, C, H, W) -> (B, C, H', W')``.

    Extent ``e``: ``log2 e`` depthwise 3x3 stride-2 convs (ReLU between), so ``H' = ceil(H / e)``.
    Global: the paper's depthwise conv spanning the whole map, over a fixed 7x7 average-pooled
    grid (the block does not know its input size; 7x7 is ResNet-50's last stage), ``H' = 1``.
    """
    if extent == "global":
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(7),
            nn.Conv2d(channels, channels, 7, groups=channels, bias=False),
            nn.BatchNorm2d(channels),
        )
    layers: list[nn.Module] = []
    for index in range(int(math.log2(int(extent)))):
        if index:
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(channels, channels, 3, 2, 1, groups=channels, bias=False))
        layers.append(nn.BatchNorm2d(channels))
    return nn.Sequential(*layers)


@register("gather_excite")
class GatherExcite(nn.Module):
    """Gather context over an extent, redistribute it as a gate on every position.

    ``(B, C, H, W) -> (B, C, H, W)``. Gather to ``(B, C, ceil(H / e), ceil(W / e))``:
    GE-θ- averages ``2e - 1`` windows at stride ``e`` (parameter-free; global extent: the mean
    over the map), GE-θ and GE-θ+ use depthwise convs (:func:`depthwise_gather`). GE-θ+ then
    applies SE's bottleneck MLP (1x1 convs, reduction 16). Excite: nearest-neighbour upsample to
    ``H x W``, sigmoid, rescale the input.
    """

    def __init__(
        self, channels: int, *, extent: int | str = "global", variant: str = "theta_plus"
    ) -> None:
        super().__init__()
        if variant not in ("theta_minus", "theta", "theta_plus"):
            raise ValueError(f"gather_excite: unknown variant {variant!r}")
        self.extent = extent
        self.gather = depthwise_gather(channels, extent) if variant != "theta_minus" else None
        self.mlp: nn.Module = nn.Identity()
        if variant == "theta_plus":
            hidden = max(1, channels // 16)
            self.mlp = nn.Sequential(
                nn.Conv2d(channels, hidden, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, channels, 1),
            )

    def forward(self, x: Tensor) -> Tensor:
        if self.gather is not None:
            context = self.gather(x)
        elif self.extent == "global":
            context = x.mean(dim=(2, 3), keepdim=True)
        else:
            e = int(self.extent)
            context = F.avg_pool2d(x, 2 * e - 1, e, e - 1, count_include_pad=False)
        context = self.mlp(context)
        if context.shape[-2:] != x.shape[-2:] and context.shape[-2:] != (1, 1):
            context = F.interpolate(context, size=x.shape[-2:], mode="nearest")
        return x * torch.sigmoid(context)
