"""What an architecture is: specs, the block catalog, backbones (all torch-free here).

The torch side is imported explicitly: :mod:`searchspace.blocks` (the registry),
:mod:`searchspace.build` (``build_model``) and :mod:`searchspace.cost` (``count_cost``).
"""

from __future__ import annotations

from searchspace.backbones import BACKBONES, Backbone, get_backbone
from searchspace.catalog import POSITIONS, BlockInfo, Param, block_info, block_names
from searchspace.spec import SELECTORS, ArchSpec, StageSpec

__all__ = [
    "BACKBONES",
    "POSITIONS",
    "SELECTORS",
    "ArchSpec",
    "Backbone",
    "BlockInfo",
    "Param",
    "StageSpec",
    "block_info",
    "block_names",
    "get_backbone",
]
