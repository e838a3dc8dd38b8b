"""The block catalog as Markdown: the table ``nas space --markdown`` prints to ``docs/blocks.md``.

Every number is computed, never typed: each block is built at its defaults for a reference
feature map of 256 channels at 14x14 (ResNet-50's third stage) on the ``meta`` device and
costed by :func:`searchspace.cost.module_cost`, so the table cannot drift from the code.
The "Measured speed" section is rendered from ``docs/block-speed.json``, which
``bench/block_speed.py`` writes: timings cannot be computed, only measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from searchspace.blocks import create_block, registered_blocks
from searchspace.catalog import BlockInfo, Param, block_info, block_names
from searchspace.cost import Cost, module_cost

REFERENCE_CHANNELS = 256
REFERENCE_SIZE = 14
REGENERATE = ".venv/bin/nas space --markdown > docs/blocks.md"
SPEED_FILE = Path(__file__).resolve().parents[1] / "docs" / "block-speed.json"
"""Measured training speed per block (``bench/block_speed.py``); absent outside a checkout."""

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


def speed_markdown(speed_file: Path = SPEED_FILE) -> list[str]:
    """The "Measured speed" section from ``speed_file`` (no lines when nothing is measured)."""
    if not speed_file.exists():
        return []
    blocks = json.loads(speed_file.read_text()).get("blocks", {})
    if not blocks:
        return []
    lines = [
        "",
        "## Measured speed",
        "",
        "Written by `bench/block_speed.py` (which regenerates this page from",
        "`docs/block-speed.json`); MACs hide what a block costs on a small CPU. Each row is",
        "resnet20 with the block in every stage that allows it (natural position, default",
        "parameters) at the search's default proxy: width 0.5 (or the width the proxy raises it",
        "to), 28x28 grey images, batch 128, training steps (forward, backward, SGD) on one CPU",
        "thread, timed against the plain resnet20 in the same run. The ratio is plain time over",
        "block time (the median of alternating rounds), so 0.5 trains at half the plain speed.",
        "",
        "| block | layout | MACs / image | plain MACs | images/s | plain images/s | ratio "
        "| measured |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, entry in sorted(blocks.items()):
        cells = (
            f"`{name}`",
            entry["layout"],
            f"{entry['macs']:,}",
            f"{entry['plain_macs']:,}",
            f"{entry['images_per_s']:,.1f}",
            f"{entry['plain_images_per_s']:,.1f}",
            f"{entry['ratio']:.3f}",
            f"{entry['date']}, {entry['threads']} thread(s), "
            f"torch {entry['torch']}, {entry['cpu']}",
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def catalog_markdown(speed_file: Path = SPEED_FILE) -> str:
    """The whole catalog page: a short preamble, one table row per declared block, and the
    measured speed of the blocks ``speed_file`` holds."""
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
        *speed_markdown(speed_file),
    ]
    return "\n".join(lines) + "\n"
