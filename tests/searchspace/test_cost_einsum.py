"""Einsum MACs (issue #14): the product of all distinct index sizes, even when torch multiplies.

Torch evaluates an einsum whose contracted indices all have size 1 as an element-wise product,
which the flop counter counts as zero; the cost model counts the einsum itself.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from searchspace.blocks import create_block
from searchspace.cost import count_cost, module_cost
from searchspace.flops import einsum_macs
from searchspace.spec import ArchSpec


class _Einsum(nn.Module):
    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum(self.equation, x, x)


@pytest.mark.parametrize(
    ("equation", "shapes", "macs"),
    [
        ("bnci,bnji->bcj", [(1, 1, 16, 1), (1, 1, 16, 1)], 16 * 16),  # contracted n, i of size 1
        ("bnci,bnji->bcj", [(2, 3, 4, 5), (2, 3, 6, 5)], 2 * 3 * 4 * 5 * 6),
        ("ij,jk->ik", [(2, 3), (3, 4)], 24),
        ("ij,ij->ij", [(2, 3), (2, 3)], 6),  # no contraction: one multiply per output
        ("...ij,...jk", [(5, 2, 3), (1, 3, 4)], 5 * 2 * 3 * 4),  # broadcast batch
        ("ij->ji", [(2, 3)], 0),  # one operand: a permutation
    ],
)
def test_einsum_macs_rule(equation: str, shapes: list[tuple[int, ...]], macs: int) -> None:
    assert einsum_macs(equation, shapes) == macs


def test_contraction_over_size_one_is_counted() -> None:
    """``bnci,bnji->bcj`` with n = i = 1: c x j = 16 x 16 multiply-adds, not 0."""
    assert module_cost(_Einsum("bnci,bnji->bcj"), (1, 1, 16, 1)).macs == 256
    # a real contraction is counted as before (torch's bmm agrees with the rule)
    assert module_cost(_Einsum("bnci,bnji->bcj"), (1, 2, 16, 3)).macs == 16 * 16 * 2 * 3


def test_rga_channel_ratio_8_at_3x3_by_hand() -> None:
    """RGA-C, 16 channels, ratio 8, extent 3 on a 3x3 map (nodes: 16 channels, features 9).

    inner = max(1, 9 // 8) = 1, joint = max(1, 16 // 8) = 2, gate hidden = max(1, 3 // 8) = 1;
    per node (16 of them): theta, phi, embed 9 -> 1 (3 x 9), relation 2 * 16 -> 2 (64),
    gate 3 -> 1 -> 1 (3 + 1); the relations einsum ``bnci,bnji->bcj`` is 16 x 16 x 1 x 1.
    """
    expected = 16 * (3 * 9 + 64 + 3 + 1) + 16 * 16
    assert expected == 1776
    with torch.device("meta"):
        block = create_block("rga", 16, variant="channel", ratio=8, extent=3)
    assert module_cost(block, (1, 16, 3, 3)).macs == expected


def test_a_spec_counts_the_einsum_once() -> None:
    """The rga spec costs the plain network plus the block, the einsum counted exactly once."""
    base = {"backbone": "resnet20", "width": 0.25, "input_size": 12, "num_classes": 10}
    rga = {"block": "rga", "params": {"variant": "channel", "ratio": 8, "extent": 3}}
    plain = count_cost(ArchSpec.from_dict(base))
    spec = ArchSpec.from_dict({**base, "stages": [{}, {}, {**rga, "position": "stage_end"}]})
    # last stage: 16 channels on a 3x3 map, so the block above, once
    assert count_cost(spec).macs - plain.macs == 1776
