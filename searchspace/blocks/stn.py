"""Spatial transformer.

Paper: https://arxiv.org/abs/1506.02025 (citation: :data:`searchspace.catalog.transform.STN`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

POOL = 4
"""The localisation net sees the map average-pooled to ``POOL x POOL``, so it fits any size."""


@register("stn")
class SpatialTransformer(nn.Module):
    """Warp the feature map by a transform the map itself predicts (Sec. 3).

    ``(B, C, H, W) -> (B, C, H, W)``. Localisation net ``f_loc``: adaptive average pool to
    ``4 x 4``, a fully connected layer to ``hidden`` units with ReLU, and a regression layer to
    theta (the paper's fully connected localisation nets; the pooling makes it independent of
    the map size). ``transform="affine"`` regresses the six entries of ``A_theta``;
    ``"attention"`` the paper's attention transform ``[[s, 0, tx], [0, s, ty]]`` (isotropic
    scale and translation, Sec. 3.1), three numbers. The grid generator
    (``F.affine_grid``, normalised coordinates in [-1, 1]) and the bilinear sampler
    (``F.grid_sample``, zeros outside the input) are differentiable in theta and the input.

    The regression layer is zero-initialised with the identity transform as its bias, as the
    paper's experiments initialise it, so the block is the identity at initialisation.
    """

    def __init__(self, channels: int, *, transform: str = "affine", hidden: int = 32) -> None:
        super().__init__()
        if transform not in ("affine", "attention"):
            raise ValueError(f"stn: transform must be 'affine' or 'attention', got {transform!r}")
        self.transform = transform
        self.pool = nn.AdaptiveAvgPool2d(POOL)
        self.fc1 = nn.Linear(channels * POOL * POOL, hidden)
        self.act = nn.ReLU(inplace=True)
        identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0] if transform == "affine" else [1.0, 0.0, 0.0]
        self.fc2 = nn.Linear(hidden, len(identity))
        nn.init.zeros_(self.fc2.weight)
        with torch.no_grad():
            self.fc2.get_parameter("bias").copy_(torch.tensor(identity))

    def theta(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, 2, 3)``: the affine matrix ``A_theta`` of each image."""
        out = self.fc2(self.act(self.fc1(self.pool(x).flatten(1))))
        if self.transform == "affine":
            return out.view(-1, 2, 3)
        scale, tx, ty = out.unbind(1)
        zero = torch.zeros_like(scale)
        return torch.stack([scale, zero, tx, zero, scale, ty], dim=1).view(-1, 2, 3)

    def forward(self, x: Tensor) -> Tensor:
        grid = F.affine_grid(self.theta(x), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
