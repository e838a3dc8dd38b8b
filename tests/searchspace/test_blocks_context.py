"""Global-context and self-attention blocks pinned to their papers.

Parameter counts from the papers' layer lists, MACs from hand formulas (one MAC per
multiply-add of convs, linears and matrix products; the cost model's convention), and the
properties each paper states: identity at initialisation, attention maps that normalise, the
criss-cross path with the centre counted once, EM responsibilities and unit-norm bases.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import create_block
from searchspace.blocks.asym_nonlocal import PYRAMID, pyramid_sample
from searchspace.catalog import block_info
from searchspace.spec import ArchSpec
from tests.searchspace.block_measures import C, H, N, W, macs, n_params, randomise

MINE = (
    "gc",
    "nonlocal",
    "sagan",
    "criss_cross",
    "double_attention",
    "ema",
    "asym_nonlocal",
    "dual",
    "strip_pooling",
)

# --- declarations ---------------------------------------------------------------------------


def test_quadratic_blocks_are_late_only_and_linear_ones_are_not() -> None:
    late = {n for n in MINE if block_info(n).late_only}
    assert late == {"nonlocal", "sagan", "dual"}


def test_nonlocal_defaults_to_stage_end_and_refuses_early_stages() -> None:
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": [{}, {}, {"block": "nonlocal"}]})
    assert spec.stages[2].position == "stage_end"
    with pytest.raises(ValueError, match="late-stage only"):
        ArchSpec.from_dict({"backbone": "resnet20", "stages": [{"block": "nonlocal"}, {}, {}]})


@pytest.mark.parametrize("name", ["nonlocal", "sagan", "criss_cross", "asym_nonlocal", "dual"])
def test_residual_blocks_are_the_identity_at_init(name: str) -> None:
    """Zero BN gamma (non-local), zero gammas (SAGAN, CCNet, DANet), zero W (ANN)."""
    block = create_block(name, C).eval()
    x = torch.randn(2, C, H, W)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("name", MINE)
def test_block_exports_and_runs_on_meta(name: str) -> None:
    block = randomise(create_block(name, 8))
    x = torch.randn(1, 8, 3, 4)
    exported = torch.export.export(block, (x,), strict=False)
    assert torch.allclose(exported.module()(x), block(x), atol=1e-5)
    with torch.device("meta"):
        meta_block = create_block(name, 8)
    assert meta_block(torch.empty(2, 8, 1, 1, device="meta")).shape == (2, 8, 1, 1)


# --- GCNet ----------------------------------------------------------------------------------


def test_gc_parameters_and_macs() -> None:
    r = C // 16
    transform = C * r + r + 2 * r + r * C + C  # conv, LayerNorm([r, 1, 1]), conv
    assert n_params(create_block("gc", C)) == (C + 1) + transform
    assert n_params(create_block("gc", C, pooling="avg")) == transform
    # att: the C -> 1 mask conv and the weighted sum over HW, then the bottleneck.
    assert macs("gc") == N * C + C * N + 2 * C * r
    assert macs("gc", pooling="avg") == 2 * C * r


def test_gc_attention_pooling_weights_sum_to_one() -> None:
    """On a spatially constant map any softmax pooling returns the map's value."""
    block = randomise(create_block("gc", C))
    x = torch.randn(2, C, 1, 1).expand(2, C, H, W)
    assert torch.allclose(block.context(x), x[:, :, :1, :1], atol=1e-6)


def test_gc_add_fusion_starts_as_identity_and_mul_as_half_gate() -> None:
    x = torch.randn(2, C, H, W)
    assert torch.equal(create_block("gc", C)(x), x)
    assert torch.allclose(create_block("gc", C, fusion="mul")(x), 0.5 * x)


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


# --- A²-Net ---------------------------------------------------------------------------------


def test_double_attention_parameters_and_macs() -> None:
    m = C // 4
    assert n_params(create_block("double_attention", C)) == 3 * (C * m + m) + m * C + C
    assert macs("double_attention") == 3 * N * C * m + 2 * m * m * N + N * m * C


def test_double_attention_gathers_with_weights_that_sum_to_one() -> None:
    """On a constant map every descriptor is the feature vector itself (softmax over HW)."""
    block = randomise(create_block("double_attention", C))
    x = torch.randn(2, C, 1, 1).expand(2, C, H, W)
    descriptors = block.descriptors(x)
    features = block.features(x)[:, :, 0, 0]
    assert torch.allclose(descriptors, features[:, :, None].expand_as(descriptors), atol=1e-5)


# --- EMANet ---------------------------------------------------------------------------------


def test_ema_bases_are_unit_norm_parameters_in_the_state_dict() -> None:
    block = create_block("ema", C, bases=16)
    assert block.state_dict()["bases"].shape == (C, 16)
    norms = block.bases.norm(dim=0)
    assert torch.allclose(norms, torch.ones(16), atol=1e-5)


def test_ema_rebuilds_a_rank_k_map_and_is_deterministic() -> None:
    block = randomise(create_block("ema", C, bases=16, iterations=2)).train()
    x = torch.randn(2, C, 8, 8)
    mu, z = block.em(block.conv_in(x).flatten(2))
    assert torch.allclose(z.sum(-1), torch.ones(2, 64), atol=1e-5)
    assert torch.allclose(mu.norm(dim=1), torch.ones(2, 16), atol=1e-4)
    assert torch.linalg.matrix_rank(mu[0] @ z[0].T) <= 16
    before = block.bases.detach().clone()
    assert torch.equal(block(x), block(x))
    assert torch.equal(block.bases, before)


def test_ema_parameters_and_macs() -> None:
    k, t = 16, 3
    assert n_params(create_block("ema", C, bases=k, iterations=t)) == (
        C * k + (C * C + C) + C * C + 2 * C
    )
    assert macs("ema", bases=k, iterations=t) == 2 * N * C * C + t * 2 * N * C * k + N * C * k


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


# --- SPNet ----------------------------------------------------------------------------------


def test_strip_pooling_parameters_and_macs() -> None:
    assert n_params(create_block("strip_pooling", C)) == 2 * (3 * C * C + 2 * C) + C * C + C
    assert macs("strip_pooling") == 3 * C * C * H + 3 * C * C * W + N * C * C


def test_strip_pooling_sees_only_nearby_rows_and_columns() -> None:
    """A change at (h0, w0) moves one row and one column mean; kernel-3 convs spread it by 1."""
    block = randomise(create_block("strip_pooling", 4))
    x = torch.randn(1, 4, 9, 9)
    poked = x.clone()
    poked[0, :, 4, 4] += 5.0
    changed = (block(poked) - block(x)).abs().amax(1)[0] > 1e-6
    near = torch.zeros(9, 9, dtype=torch.bool)
    near[3:6, :] = True
    near[:, 3:6] = True
    assert changed.any()
    assert not (changed & ~near).any()
