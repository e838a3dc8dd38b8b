"""Squeeze-and-Excitation.

Paper: https://arxiv.org/abs/1709.01507 (citation: :data:`searchspace.catalog.channel.SE`)
"""

from __future__ import annotations

from torch import Tensor, nn

from searchspace.blocks import register


@register("se")
class SqueezeExcite(nn.Module):
    """Channel gate from global average pooling and a two-layer bottleneck MLP.

    ``(B, C, H, W) -> (B, C, H, W)``: squeeze to ``(B, C, 1, 1)``, reduce to
    ``max(1, C // ratio)`` channels with ReLU, expand back to C, sigmoid, rescale the input.
    The MLP uses 1x1 convs with biases, as the reference implementation does.
    """

    def __init__(self, channels: int, *, ratio: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        s = self.fc2(self.act(self.fc1(self.pool(x))))
        return x * self.gate(s)
