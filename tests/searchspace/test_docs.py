"""``docs/blocks.md`` is generated from the registry and must match what the code says now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from searchspace.blocks import registered_blocks
from searchspace.catalog import block_names
from searchspace.cost import module_cost
from searchspace.docs import REGENERATE, added_cost, catalog_markdown, plain_conv_cost

DOCS = Path(__file__).resolve().parents[2] / "docs" / "blocks.md"


@pytest.fixture(scope="module")
def generated() -> str:
    return catalog_markdown()


def test_docs_blocks_md_is_current(generated: str) -> None:
    committed = DOCS.read_text() if DOCS.exists() else ""
    assert committed == generated, (
        f"docs/blocks.md is stale: regenerate it from the repository root with `{REGENERATE}`"
    )


def test_every_block_has_one_costed_row(generated: str) -> None:
    catalog = generated.split("\n## Measured speed\n")[0]
    rows = [line for line in catalog.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(block_names())
    assert set(block_names()) == set(registered_blocks())
    assert "not implemented" not in generated


def test_se_row_matches_the_hand_formula() -> None:
    """SE on 256 channels, ratio 16: two 1x1 convs with biases; MACs count weights only."""
    c, hidden = 256, 16
    cost = added_cost("se")
    assert cost.params == 2 * c * hidden + hidden + c
    assert cost.macs == 2 * c * hidden


def test_replace_blocks_are_measured_against_the_plain_3x3_conv() -> None:
    conv = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    assert module_cost(conv, (1, 256, 14, 14)) == plain_conv_cost()


@pytest.mark.slow
def test_cli_prints_the_same_table(generated: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nas", "space", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert out == generated
