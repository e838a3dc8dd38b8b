"""SimAM: a simple, parameter-free attention module.

Paper: https://proceedings.mlr.press/v139/yang21o.html
(citation: :data:`searchspace.catalog.energy.SIMAM`)
"""

from __future__ import annotations

from torch import Tensor, nn

from searchspace.blocks import register


@register("simam")
class SimAM(nn.Module):
    """Scale every neuron by ``sigmoid(1 / e*)``, its inverse minimal energy (eqs. 4 to 6).

    ``(B, C, H, W) -> (B, C, H, W)``, no parameters. Within each channel, with ``mu`` the mean
    and ``sigma^2 = sum (x - mu)^2 / n`` over ``n = HW - 1`` (the other neurons), the minimal
    energy of neuron ``t`` is ``e* = 4 (sigma^2 + lambda) / ((t - mu)^2 + 2 sigma^2 + 2 lambda)``
    (eq. 4): the more a neuron differs from its channel, the lower its energy and the larger its
    weight. ``1 / e*`` is computed as ``(t - mu)^2 / (4 (sigma^2 + lambda)) + 0.5``, as in the
    reference code. On a 1x1 map ``n`` would be 0; it is clamped to 1, where ``t = mu`` gives
    every neuron the weight ``sigmoid(0.5)``.
    """

    def __init__(self, channels: int, *, e_lambda: float = 1e-4) -> None:
        super().__init__()
        self.channels = channels
        self.e_lambda = e_lambda

    def forward(self, x: Tensor) -> Tensor:
        n = max(1, x.shape[2] * x.shape[3] - 1)
        deviation = (x - x.mean(dim=(2, 3), keepdim=True)).square()
        variance = deviation.sum(dim=(2, 3), keepdim=True) / n
        inverse_energy = deviation / (4 * (variance + self.e_lambda)) + 0.5
        return x * inverse_energy.sigmoid()
