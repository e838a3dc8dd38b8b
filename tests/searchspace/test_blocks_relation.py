"""Transform and relation blocks (STN, GloRe, residual attention) pinned to their papers.

Parameter counts from the papers' layer lists, MACs from hand formulas (one MAC per
multiply-add of convs, linears and matrix products; the cost model's convention), and the
properties the papers state: the spatial transformer is the identity at initialisation and
warps as its theta says. PSANet, RGA and MHSA, which relate pairs of positions:
``test_blocks_pairwise.py``.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from searchspace.blocks import create_block
from searchspace.blocks.stn import POOL, SpatialTransformer
from searchspace.catalog import block_info
from searchspace.spec import ArchSpec
from tests.searchspace.block_measures import macs, n_params

# --- STN ------------------------------------------------------------------------------------


@pytest.mark.parametrize("transform", ["affine", "attention"])
@pytest.mark.parametrize("size", [(7, 7), (8, 11)])
def test_stn_is_the_identity_at_init(transform: str, size: tuple[int, int]) -> None:
    """Zero regression weights and the identity as bias (the paper's initialisation)."""
    block = create_block("stn", 8, transform=transform).eval()
    x = torch.randn(2, 8, *size)
    torch.testing.assert_close(block(x), x, atol=1e-5, rtol=0)


def test_stn_warps_as_theta_says() -> None:
    """theta = [[-1, 0, 0], [0, 1, 0]] mirrors the map; a half-map shift moves it by W/2."""
    block = create_block("stn", 4)
    assert isinstance(block, SpatialTransformer)
    x = torch.randn(1, 4, 6, 8)
    with torch.no_grad():
        block.fc2.get_parameter("bias").copy_(torch.tensor([-1.0, 0, 0, 0, 1, 0]))
        torch.testing.assert_close(block(x), x.flip(-1), atol=1e-5, rtol=0)
        block.fc2.get_parameter("bias").copy_(torch.tensor([1.0, 0, 1.0, 0, 1, 0]))
        shifted = block(x)
    torch.testing.assert_close(shifted[..., :4], x[..., 4:], atol=1e-5, rtol=0)
    assert shifted[..., 5:].abs().max() == 0  # sampled outside the input: zero padding


def test_stn_attention_transform_is_scale_and_translation() -> None:
    block = create_block("stn", 4, transform="attention")
    assert isinstance(block, SpatialTransformer)
    with torch.no_grad():
        block.fc2.get_parameter("bias").copy_(torch.tensor([0.5, 0.25, -0.1]))
        theta = block.theta(torch.randn(3, 4, 5, 5))
    expected = torch.tensor([[0.5, 0.0, 0.25], [0.0, 0.5, -0.1]]).expand(3, 2, 3)
    torch.testing.assert_close(theta, expected)


@pytest.mark.parametrize(("transform", "k"), [("affine", 6), ("attention", 3)])
@pytest.mark.parametrize(("channels", "hidden"), [(8, 32), (64, 16)])
def test_stn_parameters_and_macs(transform: str, k: int, channels: int, hidden: int) -> None:
    """Two linears: pooled 4x4xC -> hidden -> k; the grid and the sampler add no MACs."""
    block = create_block("stn", channels, transform=transform, hidden=hidden)
    features = channels * POOL * POOL
    assert n_params(block) == features * hidden + hidden + hidden * k + k
    assert macs("stn", channels, 9, 13, transform=transform, hidden=hidden) == (
        features * hidden + hidden * k
    )


def test_stn_goes_at_stage_end_or_before_the_first_branch() -> None:
    assert block_info("stn").positions == ("stage_end", "pre")
    spec = ArchSpec.from_dict(
        {
            "backbone": "resnet20",
            "stages": [{"block": "stn", "position": "pre", "blocks": "first"}, {}, {}],
        }
    )
    assert spec.stages[0].label() == "stn(hidden=32,transform=affine)@pre/first"


# --- GloRe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "nodes"), [(64, 64), (32, 16), (3, 8)])
def test_glore_parameters_and_macs(channels: int, nodes: int) -> None:
    """C' = C/2 states; the reverse projection reuses B, so there are two input 1x1 convs."""
    s, n, hw = max(1, channels // 2), nodes, 5 * 6
    block = create_block("glore", channels, nodes=nodes)
    reduce_, project, adjacency, update = channels * s + s, channels * n + n, n * n + n, s * s
    assert n_params(block) == reduce_ + project + adjacency + update + s * channels + 2 * channels
    expected = (
        hw * channels * (s + n)  # the two 1x1 convs on the input
        + hw * s * n  # V = X B^T
        + n * n * s  # A_g over the nodes
        + s * s * n  # W_g over the states
        + hw * s * n  # Y = Z B
        + hw * s * channels  # extend
    )
    assert macs("glore", channels, 5, 6, nodes=nodes) == expected


def test_glore_node_features_are_projections_of_the_reduced_map() -> None:
    block = create_block("glore", 8, nodes=4).eval()
    x = torch.randn(2, 8, 3, 5)
    seen: list[torch.Tensor] = []
    block.gcn.register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    block(x)
    states = block.reduce(x).flatten(2)
    projection = block.project(x).flatten(2)
    torch.testing.assert_close(seen[0], states @ projection.transpose(1, 2))


# --- Residual attention ---------------------------------------------------------------------


def _unit_params(c: int) -> int:
    i = max(1, c // 4)
    return 2 * c + c * i + 2 * i + 9 * i * i + 2 * i + i * c


def _unit_macs(c: int) -> int:
    i = max(1, c // 4)
    return c * i + 9 * i * i + i * c


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("channels", [64, 8])
def test_residual_attention_parameters_and_macs(depth: int, channels: int) -> None:
    """t = 2 trunk units; per level a down, a skip and an up unit; 2r = 2 units at the bottom."""
    block = create_block("residual_attention", channels, depth=depth)
    units = 2 + 3 * (depth - 1) + 2
    head = 2 * (2 * channels + channels * channels)
    assert n_params(block) == units * _unit_params(channels) + head
    h, w = 13, 10
    sizes = [(h, w)]
    for _ in range(depth):
        ph, pw = sizes[-1]
        pooled = nn.functional.max_pool2d(torch.empty(1, 1, ph, pw), 3, 2, 1)
        sizes.append((pooled.shape[-2], pooled.shape[-1]))
    area = [a * b for a, b in sizes]
    expected = (2 * area[0] + 3 * sum(area[1:depth]) + 2 * area[depth]) * _unit_macs(channels)
    expected += 2 * channels * channels * area[0]
    assert macs("residual_attention", channels, h, w, depth=depth) == expected


@pytest.mark.parametrize("depth", [1, 3])
def test_residual_attention_is_one_plus_mask_times_trunk(depth: int) -> None:
    block = create_block("residual_attention", 16, depth=depth).eval()
    x = torch.randn(2, 16, 9, 9)
    with torch.no_grad():
        trunk = block.trunk(x)
        mask = block.mask(x, trunk)
        out = block(x)
    assert ((mask > 0) & (mask < 1)).all()
    torch.testing.assert_close(out, (1 + mask) * trunk)


def test_residual_attention_mask_reaches_down_depth_levels() -> None:
    block = create_block("residual_attention", 8, depth=3).eval()
    seen: list[tuple[int, ...]] = []
    block.bottom.register_forward_hook(lambda _m, args, _o: seen.append(tuple(args[0].shape)))
    block(torch.randn(1, 8, 28, 28))
    assert seen == [(1, 8, 4, 4)]  # 28 -> 14 -> 7 -> 4
