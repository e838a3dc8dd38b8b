"""Global-context blocks pinned to their papers: GCNet, A²-Net, EMANet and strip pooling, and
the declarations of the whole family (the non-local ones included: ``test_blocks_nonlocal.py``).

Parameter counts from the papers' layer lists, MACs from hand formulas (one MAC per
multiply-add of convs, linears and matrix products; the cost model's convention), and the
properties each paper states: identity at initialisation, attention maps that normalise,
EM responsibilities and unit-norm bases.
"""

from __future__ import annotations

import pytest
import torch

from searchspace.blocks import create_block
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
