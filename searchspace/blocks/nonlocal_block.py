"""Non-local block (registry name ``nonlocal``; ``nonlocal`` is a Python keyword).

Paper: https://arxiv.org/abs/1711.07971 (citation: :data:`searchspace.catalog.context.NONLOCAL`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("nonlocal")
class NonLocal(nn.Module):
    """``z = BN(W y) + x`` with ``y_i = sum_j f(x_i, x_j) g(x_j) / C(x)`` over all HW positions.

    ``(B, C, H, W) -> (B, C, H, W)``. ``theta``, ``phi`` and ``g`` are 1x1 convs to the inner
    width ``max(1, C // ratio)`` (the paper halves C). The pairwise function ``f`` (Sec. 3.2):

    - ``embedded_gaussian``: ``softmax_j(theta_i . phi_j)``;
    - ``gaussian``: ``softmax_j(x_i . x_j)`` on the raw input (no theta/phi);
    - ``dot_product``: ``theta_i . phi_j / N`` with N the number of positions j;
    - ``concatenation``: ``ReLU(w^T [theta_i, phi_j]) / N``, computed as ``ReLU(a_i + b_j)``
      with ``a = w_theta^T theta`` and ``b = w_phi^T phi``, which is the same function
      without materialising the ``(N, N, 2C')`` concatenation.

    ``subsample`` max-pools phi (or x, for ``gaussian``) and g by 2x2 (ceil mode, so 1x1
    maps still work). The affinity is ``(B, HW, N)``: O((HW)^2) time and memory. W's BN has
    its gamma initialised to zero, so the block is the identity at initialisation (Sec. 4.1).
    """

    def __init__(
        self,
        channels: int,
        *,
        mode: str = "embedded_gaussian",
        subsample: bool = False,
        ratio: int = 2,
    ) -> None:
        super().__init__()
        inner = max(1, channels // ratio)
        self.mode = mode
        self.g = nn.Conv2d(channels, inner, 1)
        embedded = mode != "gaussian"
        self.theta = nn.Conv2d(channels, inner, 1) if embedded else None
        self.phi = nn.Conv2d(channels, inner, 1) if embedded else None
        self.concat_project = (
            nn.Conv1d(2 * inner, 1, 1, bias=False) if mode == "concatenation" else None
        )
        self.pool = nn.MaxPool2d(2, ceil_mode=True) if subsample else nn.Identity()
        self.W = nn.Conv2d(inner, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        for conv in (self.g, self.theta, self.phi, self.W):
            if conv is not None:
                nn.init.normal_(conv.weight, std=0.01)
                nn.init.zeros_(conv.get_parameter("bias"))
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def affinity(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, HW, N)``: normalised ``f(x_i, x_j)``, rows are positions i."""
        if self.theta is None or self.phi is None:
            return torch.einsum("bci,bcj->bij", x.flatten(2), self.pool(x).flatten(2)).softmax(-1)
        theta = self.theta(x).flatten(2)
        phi = self.pool(self.phi(x)).flatten(2)
        if self.concat_project is not None:
            inner = theta.shape[1]
            weight = self.concat_project.weight.view(2, inner)
            a = torch.einsum("c,bci->bi", weight[0], theta)
            b = torch.einsum("c,bcj->bj", weight[1], phi)
            return torch.relu(a[:, :, None] + b[:, None, :]) / phi.shape[-1]
        pairwise = torch.einsum("bci,bcj->bij", theta, phi)
        if self.mode == "embedded_gaussian":
            return pairwise.softmax(-1)
        return pairwise / phi.shape[-1]

    def forward(self, x: Tensor) -> Tensor:
        g = self.pool(self.g(x)).flatten(2)
        y = torch.einsum("bij,bcj->bci", self.affinity(x), g)
        y = y.reshape(x.shape[0], -1, x.shape[2], x.shape[3])
        return x + self.bn(self.W(y))
