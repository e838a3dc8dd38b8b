"""Relation blocks over pairs of positions (PSANet, RGA, MHSA) pinned to their papers.

Parameter counts from the papers' layer lists, MACs from hand formulas (one MAC per
multiply-add of convs, linears and matrix products; the cost model's convention), attention
maps that normalise over the positions they cover, and each block's CPU-training path equal
to its paper form (``searchspace/blocks/cpu_path.py``).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from searchspace.blocks import create_block
from searchspace.blocks.mhsa import MAX_EXTENT, BottleneckSelfAttention, relative_index
from searchspace.catalog import block_info
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec
from tests.searchspace.block_measures import macs, n_params, randomise
from tests.searchspace.cpu_path import assert_cpu_path_is_the_papers

# --- PSANet ---------------------------------------------------------------------------------


def test_psa_is_the_identity_at_init_and_late_only() -> None:
    block = create_block("psa", 16).eval()
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(block(x), x)
    assert block_info("psa").late_only


@pytest.mark.parametrize("mode", ["collect", "distribute"])
def test_psa_affinity_reads_the_over_complete_maps(mode: str) -> None:
    """a_{i,j} = softmax_j(map_i[j - i]) (collect) or softmax_j(map_j[i - j]) (distribute)."""
    extent, h, w = 3, 4, 5
    block = randomise(create_block("psa", 8, mode=mode, extent=extent))
    branch = block.branches[0]
    x = torch.randn(1, 8, h, w)
    with torch.no_grad():
        reduced = branch.reduce(x)
        maps = branch.attention(reduced)[0]
        got = branch.affinity(reduced)[0]
    side = 2 * extent - 1
    logits = torch.full((h * w, h * w), float("-inf"))
    for i in range(h * w):
        for j in range(h * w):
            owner, (dy, dx) = (i, divmod(j, w)) if mode == "collect" else (j, divmod(i, w))
            oy, ox = divmod(owner, w)
            dy, dx = dy - oy, dx - ox
            if abs(dy) < extent and abs(dx) < extent:
                logits[i, j] = maps[(dy + extent - 1) * side + dx + extent - 1, oy, ox]
    torch.testing.assert_close(got, logits.softmax(dim=1))
    assert (got[0, [3, 4, 8, 9]] == 0).all()  # two or more columns away: outside the window


@pytest.mark.parametrize(
    ("side", "extent", "mode"),
    [((4, 4), 3, "bi"), ((5, 3), 2, "collect"), ((6, 6), 7, "distribute")],
)
def test_psa_trains_on_the_cpu_as_its_map_computes(
    side: tuple[int, int], extent: int, mode: str
) -> None:
    """Training on the CPU (train mode, autograd) computes the logits it reads from the map's
    weights (the speed-up); that gives the map's output, which runs in eval mode or without
    autograd (the cost model, evaluation, export), also where offsets leave the window, and
    gradients that match finite differences."""
    block = randomise(create_block("psa", 8, mode=mode, extent=extent)).double().train()
    x = torch.randn(2, 8, *side, dtype=torch.float64, requires_grad=True)
    assert_cpu_path_is_the_papers(block, x)


@pytest.mark.parametrize(("mode", "branches"), [("bi", 2), ("collect", 1)])
def test_psa_parameters_and_macs(mode: str, branches: int) -> None:
    c, ratio, extent, h, w = 64, 4, 7, 5, 6
    r, k, n = c // ratio, (2 * extent - 1) ** 2, h * w
    block = create_block("psa", c, ratio=ratio, mode=mode, extent=extent)
    branch = c * r + 2 * r + r * r + 2 * r + r * k
    assert n_params(block) == branches * branch + branches * r * c + 2 * c
    per_branch = n * (c * r + r * r + r * k) + n * n * r
    expected = branches * per_branch + n * branches * r * c
    assert macs("psa", c, h, w, ratio=ratio, mode=mode, extent=extent) == expected


# --- RGA ------------------------------------------------------------------------------------


def _embed_params(cin: int, cout: int) -> int:
    return cin * cout + 2 * cout


def test_rga_spatial_relations_are_the_pairwise_affinities_by_offset() -> None:
    """On a map within the window, every r_ij appears once per direction; outside it is 0."""
    extent, h, w = 4, 3, 4
    block = randomise(create_block("rga", 16, extent=extent))
    x = torch.randn(1, 16, h, w)
    with torch.no_grad():
        theta = block.theta(x).flatten(2)[0]
        phi = block.phi(x).flatten(2)[0]
        got = block.relations(x)[0]
    pairwise = theta.T @ phi
    side = 2 * extent - 1
    out, into = got[: side * side], got[side * side :]
    expected_out, expected_in = torch.zeros_like(out), torch.zeros_like(into)
    for i in range(h * w):
        for j in range(h * w):
            (iy, ix), (jy, jx) = divmod(i, w), divmod(j, w)
            o = (jy - iy + extent - 1) * side + jx - ix + extent - 1
            expected_out[o, iy, ix] = pairwise[i, j]
            expected_in[o, iy, ix] = pairwise[j, i]
    torch.testing.assert_close(out, expected_out)
    torch.testing.assert_close(into, expected_in)


@pytest.mark.parametrize(("side", "extent"), [((4, 4), 3), ((5, 3), 2), ((3, 6), 4)])
def test_rga_spatial_trains_on_the_cpu_as_its_einsums_compute(
    side: tuple[int, int], extent: int
) -> None:
    """Training on the CPU (train mode, autograd) computes RGA-S's relations one window offset
    at a time (the speed-up); that gives the window einsums' output, which runs in eval mode or
    without autograd (the cost model, evaluation, export), and gradients that match finite
    differences."""
    block = randomise(create_block("rga", 16, extent=extent, ratio=4)).double().train()
    x = torch.randn(2, 16, *side, dtype=torch.float64, requires_grad=True)
    assert_cpu_path_is_the_papers(block, x)


def test_rga_channel_relations_and_gate_are_per_channel() -> None:
    block = randomise(create_block("rga", 8, variant="channel", extent=3))
    x = torch.randn(2, 8, 3, 3)
    nodes = x.flatten(2).transpose(1, 2).unsqueeze(-1)
    with torch.no_grad():
        pairwise = torch.einsum(
            "bnc,bnj->bcj", block.theta(nodes)[..., 0], block.phi(nodes)[..., 0]
        )
        got = block.relations(nodes)[..., 0]
        gate = block(x) / x
    torch.testing.assert_close(got[:, :8], pairwise.transpose(1, 2))
    torch.testing.assert_close(got[:, 8:], pairwise)
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-5)  # one per channel


@pytest.mark.parametrize("variant", ["spatial", "channel"])
def test_rga_parameters_and_macs(variant: str) -> None:
    c, ratio, extent, h, w = 64, 4, 3, 5, 6
    block = create_block("rga", c, variant=variant, ratio=ratio, extent=extent)
    if variant == "spatial":
        width, relations, nodes, positions = c, (2 * extent - 1) ** 2, h * w, h * w
    else:
        width, relations, nodes, positions = extent * extent, c, c, c
    inner, joint = width // ratio, relations // ratio
    hidden = max(1, (1 + joint) // ratio)
    gate = _embed_params(1 + joint, hidden) + hidden + 2
    embeddings = 3 * _embed_params(width, inner)
    assert n_params(block) == embeddings + _embed_params(2 * relations, joint) + gate
    pairs = 2 * nodes * relations * inner if variant == "spatial" else c * c * inner
    expected = positions * (3 * width * inner + 2 * relations * joint + (1 + joint) * hidden)
    expected += positions * hidden + pairs
    assert macs("rga", c, h, w, variant=variant, ratio=ratio, extent=extent) == expected


# --- MHSA (BoTNet) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "side", "stride"), [(16, (5, 5), 1), (8, (4, 6), 2), (8, (3, 5), 1)]
)
def test_mhsa_trains_on_the_cpu_as_its_einsums_compute(
    channels: int, side: tuple[int, int], stride: int
) -> None:
    """Training on the CPU (train mode, autograd) attends through one fused scaled dot product
    of the augmented queries and keys (the speed-up); that gives the einsums' output, which
    runs in eval mode or without autograd (the cost model, evaluation, export), and gradients
    that match finite differences."""
    torch.manual_seed(0)
    block = BottleneckSelfAttention(channels, stride=stride).double().train()
    x = torch.randn(2, channels, *side, dtype=torch.float64, requires_grad=True)
    assert_cpu_path_is_the_papers(block, x)
    with torch.no_grad():
        torch.testing.assert_close(block.eval()(x), block.train()(x))  # no batch statistics


def test_mhsa_position_logits_are_relative_height_plus_width() -> None:
    block = create_block("mhsa", 8, heads=2)
    assert isinstance(block, BottleneckSelfAttention)
    h, w, d = 3, 4, 4
    q = torch.randn(1, 2, d, h, w)
    with torch.no_grad():
        got = block.position_logits(q)
    centre = MAX_EXTENT - 1
    for i in range(h * w):
        for j in range(h * w):
            (hi, wi), (hj, wj) = divmod(i, w), divmod(j, w)
            r = block.rel_height[centre + hj - hi] + block.rel_width[centre + wj - wi]
            expected = torch.einsum("nd,d->n", q[0, :, :, hi, wi], r)
            torch.testing.assert_close(got[0, :, hi, wi, hj, wj], expected.detach())


def test_mhsa_offsets_beyond_the_table_share_its_last_row() -> None:
    index = relative_index(MAX_EXTENT + 5, torch.device("cpu"))
    assert index[0, -1] == index[0, MAX_EXTENT - 1] == 2 * MAX_EXTENT - 2
    assert index[-1, 0] == 0


def test_mhsa_attends_globally_and_strides_by_average_pooling() -> None:
    torch.manual_seed(0)
    block = create_block("mhsa", 8, heads=2).eval()
    x = torch.randn(1, 8, 6, 6)
    y = block(x)
    x2 = x.clone()
    x2[..., 5, 5] += 1.0  # a far corner moves the opposite one: the attention is global
    assert not torch.allclose(block(x2)[..., 0, 0], y[..., 0, 0])
    strided = create_block("mhsa", 8, heads=2, stride=2).eval()
    strided.load_state_dict(block.state_dict())
    torch.testing.assert_close(strided(x), nn.functional.avg_pool2d(y, 2))


@pytest.mark.parametrize(("channels", "heads"), [(64, 4), (32, 1)])
def test_mhsa_parameters_and_macs(channels: int, heads: int) -> None:
    """3C^2 projections and two (2 MAX_EXTENT - 1) x d tables; qk, q.r and attn.v products."""
    d, h, w = channels // heads, 5, 6
    n = h * w
    block = create_block("mhsa", channels, heads=heads)
    assert n_params(block) == 3 * channels * channels + 2 * (2 * MAX_EXTENT - 1) * d
    expected = 3 * channels * channels * n + 2 * n * n * channels + n * (h + w) * channels
    assert macs("mhsa", channels, h, w, heads=heads) == expected


def test_botnet50_has_the_papers_parameter_count() -> None:
    """BoT50 (MHSA for the 3x3 convs of c5): 20.8M parameters against ResNet-50's 25.5M."""
    stage = {"block": "mhsa", "position": "replace"}
    spec = ArchSpec.from_dict({"backbone": "resnet50", "stages": [{}, {}, {}, stage]})
    params = count_cost(spec).params
    conv, attention = 512 * 512 * 9, 3 * 512 * 512 + 2 * (2 * MAX_EXTENT - 1) * 128
    assert params == 25_557_032 - 3 * conv + 3 * attention
    assert abs(params - 20.8e6) < 0.1e6
