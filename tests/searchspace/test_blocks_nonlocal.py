"""The non-local family pinned to their papers: Non-local, SAGAN, CCNet, ANN and DANet,
which relate every position to all others (or, in CCNet and ANN, to a structured subset).

Parameter counts from the papers' layer lists, MACs from hand formulas (one MAC per
multiply-add of convs, linears and matrix products; the cost model's convention), and the
properties each paper states: the concatenation and normalisation variants, subsampling down to
one pixel, attention maps that normalise, the criss-cross path with the centre counted once,
ANN's pyramid anchors. Their declarations and identity at initialisation are tested with the
other context blocks (``test_blocks_context.py``).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import create_block
from searchspace.blocks.asym_nonlocal import PYRAMID, pyramid_sample
from tests.searchspace.block_measures import C, H, N, W, macs, n_params, randomise

# --- Non-local ------------------------------------------------------------------------------


def test_nonlocal_parameters_and_macs() -> None:
    ci = C // 2
    conv = C * ci + ci
    assert n_params(create_block("nonlocal", C)) == 3 * conv + (ci * C + C) + 2 * C
    assert n_params(create_block("nonlocal", C, mode="gaussian")) == conv + ci * C + C + 2 * C
    assert n_params(create_block("nonlocal", C, mode="concatenation")) == (
        3 * conv + ci * C + C + 2 * C + 2 * ci
    )
    convs = 4 * N * C * ci
    assert macs("nonlocal") == convs + 2 * N * N * ci
    sub = math.ceil(H / 2) * math.ceil(W / 2)
    assert macs("nonlocal", subsample=True) == convs + 2 * N * sub * ci
    assert macs("nonlocal", mode="gaussian") == 2 * N * C * ci + N * N * C + N * N * ci
    assert macs("nonlocal", mode="concatenation") == convs + 2 * N * ci + N * N * ci


@pytest.mark.parametrize("subsample", [False, True])
def test_nonlocal_concatenation_equals_the_concatenated_projection(subsample: bool) -> None:
    """``ReLU(w^T [theta_i, phi_j]) / N`` computed naively, pair by pair (Sec. 3.2)."""
    block = randomise(create_block("nonlocal", 8, mode="concatenation", subsample=subsample))
    x = torch.randn(1, 8, 3, 5)
    theta = block.theta(x).flatten(2)[0]
    phi = block.pool(block.phi(x)).flatten(2)[0]
    weight = block.concat_project.weight.flatten()
    expected = torch.empty(theta.shape[1], phi.shape[1])
    for i in range(theta.shape[1]):
        for j in range(phi.shape[1]):
            expected[i, j] = torch.relu(weight @ torch.cat([theta[:, i], phi[:, j]]))
    got = block.affinity(x)[0]
    assert torch.allclose(got, expected / phi.shape[1], atol=1e-5)


@pytest.mark.parametrize("mode", ["embedded_gaussian", "gaussian"])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_nonlocal_subsampling_works_down_to_one_pixel(mode: str, size: int) -> None:
    """2x2 max-pool in ceil mode: ceil(H/2) x ceil(W/2) keys, never zero of them."""
    block = randomise(create_block("nonlocal", 8, mode=mode, subsample=True))
    x = torch.randn(1, 8, size, size + 1)
    assert block(x).shape == x.shape
    keys = math.ceil(size / 2) * math.ceil((size + 1) / 2)
    assert block.affinity(x).shape == (1, size * (size + 1), keys)
    with torch.device("meta"):
        meta_block = create_block("nonlocal", 8, mode=mode, subsample=True)
    assert meta_block(x.to("meta")).shape == x.shape


def test_nonlocal_normalisations() -> None:
    x = torch.randn(2, C, H, W)
    for mode in ("embedded_gaussian", "gaussian"):
        rows = randomise(create_block("nonlocal", C, mode=mode)).affinity(x).sum(-1)
        assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)
    block = randomise(create_block("nonlocal", C, mode="dot_product"))
    theta, phi = block.theta(x).flatten(2), block.phi(x).flatten(2)
    raw = theta.transpose(1, 2) @ phi
    assert torch.allclose(block.affinity(x), raw / N, atol=1e-5)


# --- SAGAN ----------------------------------------------------------------------------------


def test_sagan_parameters_macs_and_softmax() -> None:
    cr = C // 8
    assert n_params(create_block("sagan", C)) == 4 * C * cr + 1
    assert macs("sagan") == 4 * N * C * cr + 2 * N * N * cr
    block = randomise(create_block("sagan", C))
    rows = block.attention(torch.randn(2, C, H, W)).sum(-1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)


# --- CCNet ----------------------------------------------------------------------------------


def _criss_cross_reference(block: nn.Module, x: Tensor) -> Tensor:
    """One pass, position by position, over the H + W - 1 distinct positions of the path."""
    q, k, v = block.query(x)[0], block.key(x)[0], block.value(x)[0]
    out = torch.zeros_like(x[0])
    height, width = x.shape[2:]
    for h in range(height):
        for w in range(width):
            path = sorted({(g, w) for g in range(height)} | {(h, u) for u in range(width)})
            assert len(path) == height + width - 1
            energy = torch.stack([q[:, h, w] @ k[:, a, b] for a, b in path])
            weights = energy.softmax(0)
            out[:, h, w] = sum(wt * v[:, a, b] for wt, (a, b) in zip(weights, path, strict=True))
    return x + block.gamma * out[None]


def test_criss_cross_matches_a_path_by_path_reference() -> None:
    block = randomise(create_block("criss_cross", 8, recurrence=1))
    x = torch.randn(1, 8, 4, 3)
    assert torch.allclose(block(x), _criss_cross_reference(block, x), atol=1e-5)
    twice = randomise(create_block("criss_cross", 8, recurrence=2))
    once = _criss_cross_reference(twice, x)
    assert torch.allclose(twice(x), _criss_cross_reference(twice, once), atol=1e-5)


def test_criss_cross_counts_the_centre_once() -> None:
    block = randomise(create_block("criss_cross", 8))
    attention = block.attention(torch.randn(2, 8, 4, 5))
    centre = torch.diagonal(attention[..., :4], dim1=1, dim2=3)
    assert torch.equal(centre, torch.zeros_like(centre))
    assert torch.allclose(attention.sum(-1), torch.ones(2, 4, 5), atol=1e-5)


def test_criss_cross_parameters_and_macs() -> None:
    cr = C // 8
    assert n_params(create_block("criss_cross", C)) == 2 * (C * cr + cr) + C * C + C + 1
    one_pass = N * (2 * C * cr + C * C) + N * (H + W) * cr + N * (H + W) * C
    assert macs("criss_cross", recurrence=1) == one_pass
    assert macs("criss_cross", recurrence=2) == 2 * one_pass


# --- ANN ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 5, 14])
def test_asym_nonlocal_samples_110_anchors_at_any_size(size: int) -> None:
    assert pyramid_sample(torch.randn(2, 3, size, size), PYRAMID).shape == (2, 3, 110)


def test_asym_nonlocal_pyramid_level_one_is_the_global_mean() -> None:
    x = torch.randn(2, 3, 7, 9)
    sampled = pyramid_sample(x, PYRAMID)
    assert torch.allclose(sampled[:, :, 0], x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(sampled[:, :, 1:10], F.adaptive_avg_pool2d(x, 3).flatten(2))


def test_asym_nonlocal_parameters_and_macs() -> None:
    cr = C // 2
    assert n_params(create_block("asym_nonlocal", C)) == (
        (C * cr + cr + 2 * cr) + (C * cr + cr) + (cr * C + C)
    )
    assert macs("asym_nonlocal") == 2 * N * C * cr + 2 * N * 110 * cr + N * cr * C


# --- DANet ----------------------------------------------------------------------------------


def test_dual_parameters_and_macs() -> None:
    cr = C // 8
    assert n_params(create_block("dual", C)) == 2 * (C * cr + cr) + C * C + C + 2
    position = N * C * (2 * cr + C) + N * N * (cr + C)
    assert macs("dual") == position + 2 * C * C * N


def test_dual_channel_attention_as_the_paper_writes_it() -> None:
    block = randomise(create_block("dual", 4))
    x = torch.randn(1, 4, 3, 3)
    flat = x.flatten(2)[0]
    energy = flat @ flat.T
    weights = (energy.max(dim=1, keepdim=True).values - energy).softmax(1)
    assert torch.allclose(block.channel(x)[0], weights @ flat, atol=1e-5)
