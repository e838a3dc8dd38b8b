"""The block catalog as Markdown: the table ``nas space --markdown`` prints to ``docs/blocks.md``.

Every number is computed, never typed: each block is built at its defaults for a reference
feature map of 256 channels at 14x14 (ResNet-50's third stage) on the ``meta`` device and
costed by :func:`searchspace.cost.module_cost`, so the table cannot drift from the code.
"""

from __future__ import annotations

import torch

from searchspace.blocks import create_block, registered_blocks
from searchspace.catalog import BlockInfo, Param, block_info, block_names
from searchspace.cost import Cost, module_cost

REFERENCE_CHANNELS = 256
REFERENCE_SIZE = 14
REGENERATE = ".venv/bin/nas space --markdown > docs/blocks.md"

_HEADER = (
    "| block | family | paper | parameters | insertion points | params added | MACs added |",
    "|---|---|---|---|---|---:|---:|",
)


def plain_conv_cost() -> Cost:
    """What a ``replace`` block is measured against: the bias-free 3x3 conv it replaces."""
    c, hw = REFERENCE_CHANNELS, REFERENCE_SIZE * REFERENCE_SIZE
    return Cost(macs=c * c * 9 * hw, params=c * c * 9)


def added_cost(name: str) -> Cost:
    """Parameters and MACs block ``name`` adds at its defaults on the reference map.

    Shape-preserving blocks add all they cost; a ``replace`` block adds its cost minus that of
    the plain 3x3 conv (:func:`plain_conv_cost`), which may be negative.
    """
    shape = (1, REFERENCE_CHANNELS, REFERENCE_SIZE, REFERENCE_SIZE)
    with torch.device("meta"):
        block = create_block(name, REFERENCE_CHANNELS)
    cost = module_cost(block, shape)
    if "replace" in block_info(name).positions:
        plain = plain_conv_cost()
        return Cost(macs=cost.macs - plain.macs, params=cost.params - plain.params)
    return cost


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _param_text(param: Param) -> str:
    choices = ", ".join(f"**{c}**" if c == param.default else str(c) for c in param.choices)
    return f"`{param.name}`: {choices}"


def _positions_text(info: BlockInfo) -> str:
    text = ", ".join(f"`{p}`" for p in info.positions)
    return text + " (late stages only)" if info.late_only else text


def _row(info: BlockInfo, implemented: bool) -> str:
    params = "<br>".join(_param_text(p) for p in info.params) or "none"
    if implemented:
        cost = added_cost(info.name)
        added = (f"{cost.params:,}", f"{cost.macs:,}")
    else:
        added = ("not implemented", "not implemented")
    cells = (f"`{info.name}`", info.family, info.paper, params, _positions_text(info), *added)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def catalog_markdown() -> str:
    """The whole catalog page: a short preamble and one table row per declared block."""
    implemented = set(registered_blocks())
    c, s = REFERENCE_CHANNELS, REFERENCE_SIZE
    lines = [
        "# Attention blocks",
        "",
        f"Generated from the registry by `{REGENERATE}`; do not edit by hand.",
        "",
        "Parameters list the search choices, the default in bold. Insertion points start with the",
        "block's natural one. The last two columns are what the block adds at its defaults on a",
        f"reference feature map of {c} channels at {s}x{s}, counted by the cost model (MACs of",
        "convs, linears, matmuls and einsums; element-wise work is free). `replace` blocks are",
        f"given relative to the bias-free 3x3 conv they replace ({c}x{c}x9 weights,",
        f"{plain_conv_cost().macs:,} MACs).",
        "",
        *_HEADER,
        *(_row(block_info(name), name in implemented) for name in block_names()),
    ]
    return "\n".join(lines) + "\n"
