"""Conditionally parameterized convolution.

Paper: https://arxiv.org/abs/1904.04971 (citation: :data:`searchspace.catalog.kernel.CONDCONV`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register


@register("condconv")
class CondConv(nn.Module):
    """A 3x3 conv whose kernel is mixed per sample from ``experts`` kernels (eq. 1-2).

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))``. Routing weights
    ``r(x) = sigmoid(GAP(x) R)`` ``(B, experts)`` (a linear layer with bias on the pooled
    ``(B, C)`` input) mix the expert kernels ``(experts, C, C, 3, 3)`` into one kernel per
    sample, ``W_b = sum_e r_e W_e``; the batch is then one grouped conv with ``B`` groups, so
    the whole forward is plain conv/matmul work that exports and that the cost model counts
    (the mixing matmul included). Each expert is He-initialised like the 3x3 conv it replaces.
    No bias: BN follows, as in the ResNet it sits in.
    """

    def __init__(self, channels: int, *, experts: int = 4, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.routing = nn.Linear(channels, experts)
        self.weight = nn.Parameter(torch.empty(experts, channels, channels, 3, 3))
        for expert in self.weight:
            nn.init.kaiming_normal_(expert, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        routing = torch.sigmoid(self.routing(x.mean((2, 3))))
        kernels = (routing @ self.weight.flatten(1)).reshape(b * c, c, 3, 3)
        out = F.conv2d(x.reshape(1, b * c, h, w), kernels, None, self.stride, 1, groups=b)
        return out.reshape(b, c, out.shape[2], out.shape[3])
