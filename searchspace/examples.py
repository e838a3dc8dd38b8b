"""Example specs for one block: the block in every stage it may take (torch-free).

What the block-by-block checks and benchmarks train (``tests/workers/test_every_block_trains.py``,
``bench/cpu_layout.py``): one spec per block, each at the block's first legal position in every
stage the catalog allows (late-stage-only blocks, Non-local style, in the later stages only), on
a CIFAR-style ResNet-20 for Fashion-MNIST.
"""

from __future__ import annotations

from typing import Any

from searchspace.catalog import block_info
from searchspace.spec import ArchSpec

WIDTHS = (0.5, 1.0)
"""Tried in turn: the first that leaves the block's default parameters enough channels."""


def block_everywhere(name: str, *, backbone: str = "resnet20") -> ArchSpec:
    """``backbone`` (1 input channel, 10 classes) with ``name`` at its first position in every
    stage it may take, at the narrowest of :data:`WIDTHS` that builds (an SE ratio of 16 needs
    more channels than half a ResNet-20's first stage); ``"none"`` gives the plain network.

    Raises:
        ValueError: an unknown block, or one no width in :data:`WIDTHS` can hold.
    """
    base: dict[str, Any] = {"backbone": backbone, "in_channels": 1, "num_classes": 10}
    depth = len(ArchSpec.from_dict(base).stages)
    stages: list[dict[str, Any]] = [{} for _ in range(depth)]
    if name != "none":
        info = block_info(name)
        stage = {"block": name, "position": info.positions[0]}
        stages = [stage if info.is_legal_stage(i, depth) else {} for i in range(depth)]
    for width in WIDTHS:
        try:
            return ArchSpec.from_dict({**base, "width": width, "stages": stages})
        except ValueError:
            continue
    raise ValueError(f"block {name!r}: no width in {WIDTHS} builds it in {backbone}")
