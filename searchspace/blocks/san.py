"""Self-attention network (SAN) modules: pairwise and patchwise.

Paper: https://arxiv.org/abs/2004.13621 (citation: :data:`searchspace.catalog.stand_alone.SAN`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training
from searchspace.blocks.local_relation import local_windows, sum_over_windows

RELATION_RATIO = 16
"""The relation embeddings are ``C // 16`` wide (SAN's ``rel_planes``)."""


def grid_position(height: int, width: int, device: torch.device) -> Tensor:
    """``(1, 2, H, W)``: column and row coordinates in [-1, 1] (the reference ``position``)."""
    cols = torch.linspace(-1.0, 1.0, width, device=device).expand(height, width)
    rows = torch.linspace(-1.0, 1.0, height, device=device).unsqueeze(1).expand(height, width)
    return torch.stack([cols, rows]).unsqueeze(0)


def _weight_net(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """SAN's ``conv_w``: BN, ReLU, 1x1 conv (no bias), BN, ReLU, 1x1 conv."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, hidden, 1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, out_channels, 1),
    )


@register("san")
class SelfAttentionConv(nn.Module):
    """SAN's self-attention module (SAM) in place of a 3x3 conv: vector attention over a window.

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. Three 1x1 convs with bias
    give ``x1``, ``x2`` (``R = max(1, C // 16)`` channels) and the values ``x3`` (C channels).
    A weight network produces ``C / share`` weights per output pixel i and footprint position
    j, and ``y_i^c = sum_j w_ij^(c mod C/share) x3_j^c`` (the reference ``Aggregation``: channel
    c uses weight channel ``c % (C / share)``). The two variants (Sec. 3):

    - ``pairwise`` (eq. 2): ``w_ij = softmax_j(gamma([x1_i - x2_j, P(p_i) - P(p_j)]))`` from the
      relation of each pair, the subtraction, plus the difference of the ``[-1, 1]`` pixel
      coordinates after a 1x1 conv ``P`` (2 -> 2), the paper's position encoding; ``gamma``
      is ``_weight_net(R + 2, R, C / share)``;
    - ``patchwise`` (eq. 4): ``w_i = gamma([x1_i, x2_R(i)])`` from the whole footprint at once,
      ``gamma`` is ``_weight_net(R (k^2 + 1), C / share, k^2 C / share)``; no softmax, as in
      the reference code.

    Padding: the reference pads by reflection, which needs maps wider than ``extent // 2``;
    the maps here are as small as 1x1, so footprints are replicate-padded, the nearest padding
    defined for every size. ``stride`` 2 computes only every second pixel's footprint.
    """

    def __init__(
        self,
        channels: int,
        *,
        variant: str = "patchwise",
        extent: int = 7,
        share: int = 8,
        stride: int = 1,
    ) -> None:
        super().__init__()
        if channels % share:
            raise ValueError(f"san: share={share} must divide the {channels} channels")
        if extent < 1 or extent % 2 == 0:
            raise ValueError(f"san: extent must be an odd footprint side, got {extent}")
        if variant not in ("pairwise", "patchwise"):
            raise ValueError(f"san: variant must be 'pairwise' or 'patchwise', got {variant!r}")
        relation, weights = max(1, channels // RELATION_RATIO), channels // share
        self.variant, self.extent, self.share, self.stride = variant, extent, share, stride
        self.conv1 = nn.Conv2d(channels, relation, 1)
        self.conv2 = nn.Conv2d(channels, relation, 1)
        self.conv3 = nn.Conv2d(channels, channels, 1)
        if variant == "pairwise":
            self.conv_p: nn.Conv2d | None = nn.Conv2d(2, 2, 1)
            self.conv_w = _weight_net(relation + 2, relation, weights)
        else:
            self.conv_p = None
            area = extent * extent
            self.conv_w = _weight_net(relation * (area + 1), weights, area * weights)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        k, s = self.extent, self.stride
        x1 = self.conv1(x[:, :, ::s, ::s])
        x2 = local_windows(self.conv2(x), k, s, "replicate")
        rows, cols = x1.shape[2], x1.shape[3]
        if self.conv_p is not None:
            position = self.conv_p(grid_position(h, w, x.device).to(x.dtype))
            neighbours = local_windows(position, k, s, "replicate")
            relation = torch.cat(
                [
                    x1[..., None, None] - x2,
                    (position[:, :, ::s, ::s, None, None] - neighbours).expand(b, -1, -1, -1, k, k),
                ],
                dim=1,
            )
            relation = relation.flatten(4).permute(0, 1, 4, 2, 3).flatten(3)
            weight = self.conv_w(relation).softmax(dim=2)
        else:
            patch = x2.flatten(4).permute(0, 1, 4, 2, 3).reshape(b, -1, 1, rows * cols)
            weight = self.conv_w(torch.cat([x1.reshape(b, -1, 1, rows * cols), patch], dim=1))
        weight = weight.reshape(b, c // self.share, k * k, rows, cols)
        x3 = self.conv3(x)
        if cpu_training(self.training, x):
            # one multiply-add per footprint offset: the einsum's value without its k*k-times
            # larger window copy (docs/performance.md; the einsum stays where MACs are counted)
            pad = k // 2
            padded = F.pad(x3, (pad, pad, pad, pad), mode="replicate")
            padded = padded.view(b, self.share, c // self.share, h + 2 * pad, w + 2 * pad)
            weights = list(weight.unsqueeze(1).unbind(3))  # k*k of (B, 1, G, H', W')
            out = sum_over_windows(weights, padded, k, s, rows, cols)
        else:
            values = local_windows(x3, k, s, "replicate")
            values = values.reshape(b, self.share, c // self.share, rows, cols, k * k)
            out = torch.einsum("bgjhw,bsghwj->bsghw", weight, values)
        return out.reshape(b, c, rows, cols)
