"""What the paper-pinned tests of the blocks measure a block by, and the map they measure it on."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks import create_block
from searchspace.cost import module_cost

C, H, W = 32, 5, 6
"""The map most paper-pinned tests measure a block on: channels, height, width."""
N = H * W


def macs(
    name: str,
    channels: int = C,
    height: int = H,
    width: int = W,
    *,
    stride: int = 1,
    **params: object,
) -> int:
    """The cost model's MACs of block ``name`` alone on a ``(1, channels, height, width)`` map
    (``stride``: of a block that replaces the 3x3 conv)."""
    with torch.device("meta"):
        block = create_block(name, channels, stride=stride, **params)  # type: ignore[arg-type]
    return module_cost(block, (1, channels, height, width)).macs


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def randomise(block: nn.Module) -> nn.Module:
    """Random weights everywhere, so zero gammas cannot hide the attention path."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return block.eval()
