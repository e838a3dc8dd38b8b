"""External attention.

Paper: https://arxiv.org/abs/2105.02358
(citation: :data:`searchspace.catalog.decomposition.EXTERNAL`)
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from searchspace.blocks import register


@register("external")
class ExternalAttention(nn.Module):
    """Attend to two learnt memories shared by all images instead of the image itself.

    ``(B, C, H, W) -> (B, C, H, W)``, ``N = HW``, ``S = memory``. After a 1x1 conv ``C -> C``
    (with bias), the features ``F`` ``(B, C, N)`` meet the key memory ``M_k`` ``(S, C)``:
    ``A = M_k F`` ``(B, S, N)``, the paper's double normalisation (eq. 5) takes a softmax over
    the N positions, then divides by the sum over the S slots (l1), and the value memory
    ``M_v`` ``(C, S)`` reads out ``M_v A``. A 1x1 conv with BN, the residual add and a ReLU
    follow (the reference ``External_attention`` module). Cost O(N S C): linear in the
    number of positions, unlike self-attention.

    Initialisation as the reference code: convs ``N(0, sqrt(2 / (k * k * out)))``, BN weight 1,
    and ``M_v`` starts as the transpose of ``M_k``, so the read-out first mirrors the lookup.
    """

    def __init__(self, channels: int, *, memory: int = 64) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(channels, channels, 1)
        self.memory_key = nn.Conv1d(channels, memory, 1, bias=False)
        self.memory_value = nn.Conv1d(memory, channels, 1, bias=False)
        self.conv_out = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        for conv in (self.conv_in, self.memory_key, self.conv_out):
            nn.init.normal_(conv.weight, std=math.sqrt(2.0 / conv.out_channels))
        nn.init.zeros_(self.conv_in.get_parameter("bias"))
        self.memory_value.weight.data.copy_(self.memory_key.weight.data.permute(1, 0, 2))

    def attention(self, features: Tensor) -> Tensor:
        """``(B, C, N) -> (B, S, N)``: softmax over positions, then l1 over the memory slots."""
        attn = self.memory_key(features).softmax(dim=2)
        return attn / (1e-9 + attn.sum(dim=1, keepdim=True))

    def forward(self, x: Tensor) -> Tensor:
        features = self.conv_in(x).flatten(2)
        out = self.memory_value(self.attention(features)).reshape(x.shape)
        return (x + self.bn(self.conv_out(out))).relu()
