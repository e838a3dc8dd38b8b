"""Concurrent spatial and channel squeeze & excitation (scSE).

Paper: https://arxiv.org/abs/1803.02579 (citation: :data:`searchspace.catalog.channel.SCSE`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("scse")
class ConcurrentSpatialChannelSE(nn.Module):
    """SE's channel gate (cSE) and a per-position gate (sSE), applied in parallel.

    ``(B, C, H, W) -> (B, C, H, W)``. cSE: global average pool, 1x1 convs
    ``C -> max(1, C // ratio) -> C`` with ReLU, sigmoid: ``(B, C, 1, 1)``. sSE: a 1x1 conv
    ``C -> 1``, sigmoid: ``(B, 1, H, W)``. ``add`` returns ``x * g_c + x * g_s`` (the MICCAI
    paper), ``max`` their element-wise maximum (the best aggregation in the authors' journal
    follow-up, IEEE TMI 2019, and what their code does). The authors reduce by 2. Adds SE's
    parameters plus ``C + 1``.
    """

    def __init__(self, channels: int, *, ratio: int = 2, fusion: str = "add") -> None:
        super().__init__()
        if fusion not in ("add", "max"):
            raise ValueError(f"scse: fusion must be 'add' or 'max', got {fusion!r}")
        self.fusion = fusion
        hidden = max(1, channels // ratio)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.spatial = nn.Conv2d(channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        channel_gate = torch.sigmoid(self.fc2(self.act(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))
        spatial_gate = torch.sigmoid(self.spatial(x))
        if self.fusion == "max":
            return torch.maximum(x * channel_gate, x * spatial_gate)
        return x * channel_gate + x * spatial_gate
