"""The identity: what a stage without attention holds at its insertion points."""

from __future__ import annotations

from torch import Tensor, nn

from searchspace.blocks import register


@register("none")
class NoAttention(nn.Module):
    """Returns its input unchanged: ``(B, C, H, W) -> (B, C, H, W)``, no parameters."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return x
