"""Parameter-free attention from an energy function: SimAM.

SimAM (Yang et al.) gives every neuron its own weight, a full 3-D gate over channels and
positions, from a closed-form energy of how much the neuron stands out of its channel: the
survey's *channel & spatial* attention (Guo et al., "Attention mechanisms in computer vision:
a survey", CVM 2022), with no learnable parameter at all. It keeps the shape, so it takes every
shape-preserving insertion point, SE's ``branch`` first.
"""

from __future__ import annotations

from searchspace.catalog._base import CHANNEL_POSITIONS, BlockInfo, Param, declare

SIMAM = declare(
    BlockInfo(
        name="simam",
        family="channel_spatial",
        paper=(
            "Yang et al., SimAM: A Simple, Parameter-Free Attention Module for Convolutional "
            "Neural Networks, ICML 2021, https://proceedings.mlr.press/v139/yang21o.html"
        ),
        params=(
            Param(
                "e_lambda",
                (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
                1e-4,
                "choice",
                "regulariser lambda of the energy (the paper's 1e-4)",
            ),
        ),
        positions=CHANNEL_POSITIONS,
        summary="x * sigmoid(1 / e*): closed-form minimal energy per neuron, zero parameters",
    )
)
