"""Gated Channel Transformation.

Paper: https://arxiv.org/abs/1909.11519 (citation: :data:`searchspace.catalog.channel.GCT`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


@register("gct")
class GatedChannelTransformation(nn.Module):
    """Normalise per-channel context across channels, then gate with ``1 + tanh``.

    ``(B, C, H, W) -> (B, C, H, W)``. Global context embedding ``s_c = alpha_c ||x_c||``
    (l2 over H x W; ``l1``: sum of absolute values), channel normalisation
    ``s_c * sqrt(C) / ||s||_2`` (``l1``: ``s_c * C / ||s||_1``), gating
    ``x_c * (1 + tanh(gamma_c * s_hat_c + beta_c))``. Adds ``3C`` parameters; ``alpha`` starts
    at one and ``gamma``, ``beta`` at zero, so the block is the identity at initialisation
    (the paper's recipe for training it from the start).
    """

    def __init__(self, channels: int, *, mode: str = "l2") -> None:
        super().__init__()
        if mode not in ("l2", "l1"):
            raise ValueError(f"gct: mode must be 'l2' or 'l1', got {mode!r}")
        self.mode = mode
        self.alpha = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = 1e-5

    def forward(self, x: Tensor) -> Tensor:
        if self.mode == "l2":
            s = (x.pow(2).sum(dim=(2, 3), keepdim=True) + self.eps).sqrt() * self.alpha
            s_hat = s / (s.pow(2).mean(dim=1, keepdim=True) + self.eps).sqrt()
        else:
            s = x.abs().sum(dim=(2, 3), keepdim=True) * self.alpha
            s_hat = s / (s.abs().mean(dim=1, keepdim=True) + self.eps)
        return x * (1.0 + torch.tanh(self.gamma * s_hat + self.beta))
