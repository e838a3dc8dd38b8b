"""Group A blocks pinned to their papers: parameter counts, known properties, hand MAC counts."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import pytest
import torch
from torch import nn

from searchspace.blocks import create_block
from searchspace.blocks.coord import CoordinateAttention
from searchspace.blocks.eca import EfficientChannelAttention, eca_kernel
from searchspace.blocks.fca import FrequencyChannelAttention, dct_basis, dct_frequencies
from searchspace.blocks.gct import GatedChannelTransformation
from searchspace.blocks.gsop import GlobalSecondOrderPooling
from searchspace.blocks.scse import ConcurrentSpatialChannelSE
from searchspace.blocks.srm import StyleRecalibration
from searchspace.blocks.triplet import TripletAttention
from searchspace.cost import count_cost, module_cost
from searchspace.spec import ArchSpec
from tests.searchspace.block_measures import n_params

BlockT = TypeVar("BlockT", bound=nn.Module)


def build(cls: type[BlockT], name: str, channels: int, **params: Any) -> BlockT:
    """``create_block`` typed as the class the registry must return for ``name``."""
    block = create_block(name, channels, **params)
    assert isinstance(block, cls)
    return block


def macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    return module_cost(module, shape).macs


# --- ECA -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "kernel"), [(1, 1), (64, 3), (256, 5), (512, 5), (2048, 7)])
def test_eca_adaptive_kernel_follows_the_paper(channels: int, kernel: int) -> None:
    assert eca_kernel(channels) == kernel
    assert n_params(create_block("eca", channels)) == kernel


def test_eca_adds_kernel_weights_and_c_times_k_macs() -> None:
    block = create_block("eca", 40, kernel=9)
    assert n_params(block) == 9
    assert macs(block, (1, 40, 6, 6)) == 40 * 9


def test_eca_centre_tap_gates_each_channel_by_its_own_mean() -> None:
    block = build(EfficientChannelAttention, "eca", 8, kernel=3)
    with torch.no_grad():
        block.conv.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))
    x = torch.randn(2, 8, 5, 5)
    expected = x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True))
    torch.testing.assert_close(block(x), expected)


# --- SRM -------------------------------------------------------------------------------------


def test_srm_adds_four_c_parameters() -> None:
    assert n_params(create_block("srm", 64)) == 4 * 64


def test_srm_gate_is_style_integration_of_mean_and_std() -> None:
    block = build(StyleRecalibration, "srm", 6).eval()
    with torch.no_grad():
        block.cfc.copy_(torch.randn(6, 2))
    x = torch.randn(3, 6, 4, 5)
    mean = x.mean(dim=(2, 3))
    std = (x.var(dim=(2, 3), unbiased=False) + 1e-5).sqrt()
    z = mean * block.cfc[:, 0] + std * block.cfc[:, 1]
    gate = torch.sigmoid(z / math.sqrt(1.0 + block.bn.eps))
    torch.testing.assert_close(block(x), x * gate[:, :, None, None])


def test_srm_trains_on_a_one_by_one_map() -> None:
    block = build(StyleRecalibration, "srm", 4)
    with torch.no_grad():
        block.cfc.fill_(0.5)
    x = torch.randn(2, 4, 1, 1, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert block.cfc.grad is not None and torch.isfinite(block.cfc.grad).all()


# --- GCT -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["l2", "l1"])
def test_gct_is_the_identity_at_init_with_three_c_parameters(mode: str) -> None:
    block = create_block("gct", 24, mode=mode)
    assert n_params(block) == 3 * 24
    x = torch.randn(2, 24, 7, 7)
    torch.testing.assert_close(block(x), x)


def test_gct_l2_normalisation_and_gate_range() -> None:
    block = build(GatedChannelTransformation, "gct", 16)
    with torch.no_grad():
        block.gamma.normal_(0.0, 1.0)
        block.beta.normal_(0.0, 1.0)
    x = torch.randn(2, 16, 5, 5)
    s = x.pow(2).sum(dim=(2, 3)).add(1e-5).sqrt()
    s_hat = s * math.sqrt(16) / s.norm(dim=1, keepdim=True)
    assert torch.allclose(s_hat.pow(2).mean(dim=1), torch.ones(2), atol=1e-4)
    gate = 1 + torch.tanh(block.gamma.view(1, 16) * s_hat + block.beta.view(1, 16))
    torch.testing.assert_close(block(x), x * gate[:, :, None, None], rtol=1e-4, atol=1e-5)
    assert bool(((gate > 0) & (gate < 2)).all())


# --- FcaNet ----------------------------------------------------------------------------------


def test_fca_dct_basis_is_orthonormal() -> None:
    basis = torch.stack([dct_basis(u, v, 7).flatten() for u in range(7) for v in range(7)])
    torch.testing.assert_close(basis @ basis.T, torch.eye(49), atol=1e-5, rtol=0)


@pytest.mark.parametrize("selection", ["top", "low", "bot"])
def test_fca_selections_are_32_distinct_frequencies_of_the_7x7_grid(selection: str) -> None:
    freqs = dct_frequencies(f"{selection}32")
    assert len(set(freqs)) == 32
    assert all(0 <= u < 7 and 0 <= v < 7 for u, v in freqs)
    assert dct_frequencies(f"{selection}4") == freqs[:4]


def test_fca_top1_is_global_average_pooling_scaled_by_seven() -> None:
    """The (0, 0) DCT component is GAP up to a constant: FcaNet generalises SE (paper Thm. 1)."""
    assert dct_frequencies("top1") == [(0, 0)]
    block = build(FrequencyChannelAttention, "fca", 8, ratio=4, freq="top1")
    x = torch.randn(2, 8, 7, 7)
    y = torch.einsum("bchw,chw->bc", x, block.dct)
    torch.testing.assert_close(y, 7 * x.mean(dim=(2, 3)))


def test_fca_splits_channels_into_equal_frequency_groups() -> None:
    block = build(FrequencyChannelAttention, "fca", 32, freq="top4")
    for group, (u, v) in enumerate(dct_frequencies("top4")):
        for c in range(8 * group, 8 * group + 8):
            torch.testing.assert_close(block.dct[c], dct_basis(u, v, 7))


def test_fca_params_and_macs_match_the_hand_formula() -> None:
    block = create_block("fca", 64, ratio=16)
    hidden = 64 // 16
    assert n_params(block) == 2 * 64 * hidden
    assert macs(block, (1, 64, 14, 14)) == 49 * 64 + 2 * 64 * hidden


# --- GSoP ------------------------------------------------------------------------------------


def test_gsop_params_and_macs_match_the_hand_formula() -> None:
    c, d, hw = 32, 8, 25
    block = create_block("gsop", c, ratio=4)
    expected_params = (c * d + d) + 2 * d + 2 * d + (4 * d * d + 4 * d) + (4 * d * c + c)
    assert n_params(block) == expected_params
    assert macs(block, (1, c, 5, 5)) == c * d * hw + d * d * hw + 4 * d * d + 4 * d * c


def test_gsop_pools_the_channel_covariance() -> None:
    block = build(GlobalSecondOrderPooling, "gsop", 12, ratio=2).eval()
    x = torch.randn(2, 12, 6, 5)
    z = block.bn(block.reduce(x.relu())).relu().flatten(2)
    cov = torch.stack([torch.cov(zi, correction=0) for zi in z])
    y = block.row_conv(block.row_bn(cov.unsqueeze(-1)))
    torch.testing.assert_close(block(x), x * torch.sigmoid(block.expand(y)))


# --- Gather-Excite ---------------------------------------------------------------------------


def test_gather_excite_theta_minus_global_is_parameter_free_gap_gate() -> None:
    block = create_block("gather_excite", 8, extent="global", variant="theta_minus")
    assert n_params(block) == 0
    x = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(block(x), x * torch.sigmoid(x.mean(dim=(2, 3), keepdim=True)))


@pytest.mark.parametrize("variant", ["theta_minus", "theta"])
def test_gather_excite_gate_is_constant_on_extent_cells(variant: str) -> None:
    block = create_block("gather_excite", 4, extent=4, variant=variant).eval()
    x = torch.rand(1, 4, 8, 8) + 0.5
    gate = block(x) / x
    cells = gate.unfold(2, 4, 4).unfold(3, 4, 4)
    assert torch.allclose(cells, cells[..., :1, :1].expand_as(cells), atol=1e-6)
    assert not torch.allclose(gate[..., 0, 0], gate[..., 4, 4])


def test_gather_excite_theta_params_and_macs() -> None:
    c = 16
    block = create_block("gather_excite", c, extent=4, variant="theta")
    assert n_params(block) == 2 * (9 * c + 2 * c)
    assert macs(block, (1, c, 8, 8)) == 9 * c * (4 * 4 + 2 * 2)
    plus = create_block("gather_excite", c, extent=4, variant="theta_plus")
    hidden = c // 16
    assert n_params(plus) == n_params(block) + (c * hidden + hidden) + (hidden * c + c)


# --- Coordinate attention --------------------------------------------------------------------


def test_coord_params_follow_the_reference_layout() -> None:
    c = 64
    mip = max(8, c // 32)
    expected = (c * mip + mip) + 2 * mip + 2 * (mip * c + c)
    assert n_params(create_block("coord", c)) == expected


def test_coord_gate_is_rank_one_per_channel() -> None:
    block = create_block("coord", 16, ratio=8).eval()
    x = torch.rand(1, 16, 6, 9) + 0.5
    gate = (block(x) / x).double()
    ranks = torch.linalg.matrix_rank(gate[0], rtol=1e-5)
    assert ranks.eq(1).all()


# --- scSE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", ["add", "max"])
def test_scse_combines_channel_and_spatial_gates(fusion: str) -> None:
    c = 32
    block = build(ConcurrentSpatialChannelSE, "scse", c, ratio=8, fusion=fusion)
    se = create_block("se", c, ratio=8)
    assert n_params(block) == n_params(se) + c + 1
    x = torch.randn(2, c, 5, 5)
    g_c = torch.sigmoid(block.fc2(block.fc1(x.mean(dim=(2, 3), keepdim=True)).relu()))
    g_s = torch.sigmoid(block.spatial(x))
    expected = x * g_c + x * g_s if fusion == "add" else torch.maximum(x * g_c, x * g_s)
    torch.testing.assert_close(block(x), expected)


# --- Triplet attention -----------------------------------------------------------------------


@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_triplet_adds_three_z_pool_convs(kernel: int) -> None:
    assert n_params(create_block("triplet", 64, kernel=kernel)) == 3 * (2 * kernel**2 + 2)


def test_triplet_adds_4_8k_parameters_to_resnet50() -> None:
    """The paper's Table 2: ResNet-50 + triplet attention has 4.8K more parameters."""
    stage = {"block": "triplet", "position": "branch"}
    spec = ArchSpec.from_dict({"backbone": "resnet50", "stages": [stage] * 4})
    added = count_cost(spec).params - count_cost(spec.without_attention()).params
    assert added == 16 * 300


def test_triplet_hw_branch_is_a_spatial_gate_over_channel_pooling() -> None:
    block = build(TripletAttention, "triplet", 6, kernel=3).eval()
    x = torch.randn(2, 6, 5, 7)
    pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
    gate = torch.sigmoid(block.hw.bn(block.hw.conv(pooled)))
    torch.testing.assert_close(block.hw(x), x * gate)
    assert block.hw(x).shape == block.cw(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).shape


# --- Declared rules --------------------------------------------------------------------------


def _cifar_spec(stage: dict[str, Any]) -> ArchSpec:
    return ArchSpec.from_dict({"backbone": "resnet20", "stages": [stage, {}, {}]})


def test_eca_accepts_any_odd_kernel_and_refuses_even_ones() -> None:
    spec = _cifar_spec({"block": "eca", "params": {"kernel": 11}})
    assert spec.stages[0].params["kernel"] == 11
    assert n_params(create_block("eca", 16, kernel=11)) == 11
    with pytest.raises(ValueError, match="odd"):
        _cifar_spec({"block": "eca", "params": {"kernel": 4}})


def test_coord_ratio_never_starves_the_shared_conv() -> None:
    """Coordinate attention keeps >= 8 mid channels, so any ratio is legal on 16 channels."""
    _cifar_spec({"block": "coord", "params": {"ratio": 64}})
    assert build(CoordinateAttention, "coord", 16, ratio=64).conv1.out_channels == 8


def test_reduction_blocks_refuse_a_ratio_that_leaves_no_channel() -> None:
    for name in ("fca", "gsop", "scse"):
        with pytest.raises(ValueError, match="leaves < 1"):
            _cifar_spec({"block": name, "params": {"ratio": 32}, "position": "pre"})
