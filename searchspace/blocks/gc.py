"""Global context block.

Paper: https://arxiv.org/abs/1904.11492 (citation: :data:`searchspace.catalog.context.GC`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("gc")
class GlobalContext(nn.Module):
    """Query-independent global context, a bottleneck transform, and fusion into every position.

    ``(B, C, H, W) -> (B, C, H, W)``. Context modelling: ``pooling="att"`` weights the HW
    positions by a softmax over a 1x1 conv ``C -> 1`` (the simplified non-local block, Sec. 4.1);
    ``"avg"`` is global average pooling. Either gives ``(B, C, 1, 1)``. Transform: 1x1 conv to
    ``max(1, C // ratio)``, LayerNorm, ReLU, 1x1 conv back to C. Fusion: ``"add"`` broadcasts the
    result onto every position; ``"mul"`` gates the input by its sigmoid. As in the reference
    code the last conv of the transform is zero-initialised, so ``add`` starts as the identity.
    """

    def __init__(
        self, channels: int, *, ratio: int = 16, pooling: str = "att", fusion: str = "add"
    ) -> None:
        super().__init__()
        rd_channels = max(1, channels // ratio)
        self.pooling = pooling
        self.fusion = fusion
        self.conv_mask = nn.Conv2d(channels, 1, 1) if pooling == "att" else None
        self.transform = nn.Sequential(
            nn.Conv2d(channels, rd_channels, 1),
            nn.LayerNorm([rd_channels, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(rd_channels, channels, 1),
        )
        if self.conv_mask is not None:
            nn.init.kaiming_normal_(self.conv_mask.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(self.conv_mask.get_parameter("bias"))
        for param in self.transform[-1].parameters():
            nn.init.zeros_(param)

    def context(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, 1, 1)``: the pooled global context."""
        if self.conv_mask is None:
            return x.mean(dim=(2, 3), keepdim=True)
        weights = self.conv_mask(x).flatten(1).softmax(dim=1)
        context = torch.einsum("bcn,bn->bc", x.flatten(2), weights)
        return context[:, :, None, None]

    def forward(self, x: Tensor) -> Tensor:
        term = self.transform(self.context(x))
        if self.fusion == "mul":
            return x * term.sigmoid()
        return x + term
