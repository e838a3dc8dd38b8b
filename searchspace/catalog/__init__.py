"""The block catalog: torch-free declarations of every attention block.

Each module in this package declares one group of blocks with :func:`declare` (into
:data:`CATALOG`); all of them are imported here, so ``block_info``/``block_names`` always see
the whole catalog.
"""

from __future__ import annotations

import importlib
import pkgutil

from searchspace.catalog._base import (
    CATALOG,
    CHANNEL_POSITIONS,
    FAMILIES,
    POSITIONS,
    BlockInfo,
    Choice,
    Param,
    block_info,
    block_names,
    declare,
)

__all__ = [
    "CATALOG",
    "CHANNEL_POSITIONS",
    "FAMILIES",
    "POSITIONS",
    "BlockInfo",
    "Choice",
    "Param",
    "block_info",
    "block_names",
    "declare",
]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
