"""Paper-pinned tests of the blocks that replace the 3x3 conv: SK, SASA, CondConv, DCNv2, SCNet."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from searchspace.blocks import create_block
from searchspace.blocks.condconv import CondConv
from searchspace.blocks.deform import DeformConv
from searchspace.blocks.sasa import LocalSelfAttention
from searchspace.blocks.scconv import SelfCalibratedConv
from searchspace.blocks.sk import SelectiveKernel
from searchspace.catalog import block_info
from searchspace.cost import module_cost
from searchspace.flops import EXTRA_FLOP_FORMULAS

REPLACE_BLOCKS = ["sk", "sasa", "condconv", "deform", "scconv"]
BlockT = TypeVar("BlockT", bound=nn.Module)


def _built(cls: type[BlockT], name: str, channels: int, **params: Any) -> BlockT:
    """``create_block`` through the registry, checked to be ``cls`` (and typed as it)."""
    block = create_block(name, channels, **params)
    assert isinstance(block, cls)
    return block


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _meta_macs(name: str, channels: int, size: int, stride: int = 1, **params: object) -> int:
    with torch.device("meta"):
        block = create_block(name, channels, stride=stride, **params)  # type: ignore[arg-type]
    return module_cost(block, (1, channels, size, size)).macs


@pytest.mark.parametrize("name", REPLACE_BLOCKS)
def test_kernel_blocks_only_replace_the_conv(name: str) -> None:
    assert block_info(name).positions == ("replace",)


@pytest.mark.parametrize("name", REPLACE_BLOCKS)
@pytest.mark.parametrize("size", [1, 2, 5])
def test_kernel_blocks_handle_one_channel_and_tiny_maps(name: str, size: int) -> None:
    for stride in (1, 2):
        block = create_block(name, 1, stride=stride, **_one_channel(name)).eval()
        if isinstance(block, SelfCalibratedConv):
            assert block.k1 is None, "one channel: the calibrated half takes it"
        with torch.no_grad():
            y = block(torch.randn(1, 1, size, size))
        side = (size + stride - 1) // stride
        assert y.shape == (1, 1, side, side)
        assert torch.isfinite(y).all()


def _one_channel(name: str) -> dict[str, int]:
    return {"sasa": {"heads": 1}}.get(name, {})


@pytest.mark.parametrize(("name", "param"), [("sk", "groups"), ("sasa", "heads")])
def test_divisor_parameters_that_do_not_divide_raise(name: str, param: str) -> None:
    with pytest.raises(ValueError, match=f"{param}=4 must divide the 6 channels"):
        create_block(name, 6, **{param: 4})


# --- SK ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "branches", "ratio", "groups"), [(64, 2, 16, 1), (64, 3, 4, 8)]
)
def test_sk_parameter_count(channels: int, branches: int, ratio: int, groups: int) -> None:
    """M branch convs + BN, fuse C -> d with d = max(C / r, L = 32) + BN, select d -> M C."""
    d = max(channels // ratio, 32)
    split = branches * (9 * channels * channels // groups + 2 * channels)
    expected = split + channels * d + 2 * d + d * channels * branches
    block = create_block("sk", channels, branches=branches, ratio=ratio, groups=groups)
    assert _params(block) == expected


def test_sk_branches_use_dilations_one_two_three() -> None:
    block = _built(SelectiveKernel, "sk", 8, branches=3)
    assert [_convs(path)[0].dilation for path in block.paths] == [(1, 1), (2, 2), (3, 3)]


def test_sk_selection_weights_sum_to_one_across_branches() -> None:
    """With identical branches, any softmax selection returns that branch exactly (eq. 5, 6)."""
    torch.manual_seed(0)
    block = _built(SelectiveKernel, "sk", 8, branches=3, stride=2).eval()
    for path in block.paths[1:]:
        conv = _convs(path)[0]
        conv.dilation, conv.padding = (1, 1), (1, 1)
        path.load_state_dict(block.paths[0].state_dict())
    nn.init.normal_(block.select.weight, std=3.0)
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(block(x), block.paths[0](x))


# --- SASA -------------------------------------------------------------------------------


@pytest.mark.parametrize(("extent", "heads"), [(7, 8), (3, 1)])
def test_sasa_parameter_count(extent: int, heads: int) -> None:
    """Three C x C 1x1 projections, and d/2 row + d/2 column embeddings per head: C * k."""
    c = 32
    assert _params(create_block("sasa", c, extent=extent, heads=heads)) == 3 * c * c + c * extent


@pytest.mark.parametrize("stride", [1, 2])
def test_sasa_macs_count_projections_and_the_three_attention_products(stride: int) -> None:
    """q.k, q.r and attn.v each cost C * k^2 per pixel; attention runs before the pooling."""
    c, k, size = 16, 5, 6
    expected = size * size * (3 * c * c + 3 * c * k * k)
    assert _meta_macs("sasa", c, size, stride, extent=k, heads=4) == expected


def test_sasa_with_a_one_pixel_window_is_the_value_projection() -> None:
    torch.manual_seed(0)
    block = _built(LocalSelfAttention, "sasa", 8, extent=1, heads=2)
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(block(x), block.value(x))


def test_sasa_attention_normalises_to_one_at_the_borders_too() -> None:
    """Values = identity on a constant map: the output is that constant iff the weights of
    every pixel, corner pixels with padded neighbours included, sum to one over real pixels."""
    torch.manual_seed(0)
    block = _built(LocalSelfAttention, "sasa", 4, extent=7, heads=2)
    with torch.no_grad():
        block.value.weight.copy_(torch.eye(4).view(4, 4, 1, 1))
        x = torch.full((1, 4, 6, 6), 1.5)
        torch.testing.assert_close(block(x), x)


def test_sasa_is_translation_equivariant_away_from_the_border() -> None:
    """Relative (not absolute) positions: shifting the input shifts the interior output."""
    torch.manual_seed(0)
    block = create_block("sasa", 8, extent=3, heads=2).eval()
    x = torch.randn(1, 8, 12, 12)
    shifted = torch.roll(x, shifts=(1, 2), dims=(2, 3))
    with torch.no_grad():
        y, y_shifted = block(x), block(shifted)
    torch.testing.assert_close(y_shifted[..., 4:10, 5:11], y[..., 3:9, 3:9])


def test_sasa_rows_and_columns_have_their_own_embeddings() -> None:
    block = _built(LocalSelfAttention, "sasa", 8, extent=5, heads=2)
    grid = block.relative_embedding()
    assert grid.shape == (2, 4, 5, 5)
    assert torch.equal(grid[:, :2], grid[:, :2, :, :1].expand(-1, -1, -1, 5))
    assert torch.equal(grid[:, 2:], grid[:, 2:, :1, :].expand(-1, -1, 5, -1))


# --- CondConv ---------------------------------------------------------------------------


def test_condconv_mixes_expert_kernels_per_sample() -> None:
    """Each sample is convolved with its own sum_e sigmoid(r_e) W_e (eq. 2), independently."""
    torch.manual_seed(0)
    block = _built(CondConv, "condconv", 6, experts=3, stride=2)
    x = torch.randn(2, 6, 9, 9)
    with torch.no_grad():
        y = block(x)
        for b in range(2):
            routing = torch.sigmoid(block.routing(x[b : b + 1].mean((2, 3))))[0]
            kernel = torch.einsum("e,eoikl->oikl", routing, block.weight)
            expected = F.conv2d(x[b : b + 1], kernel, stride=2, padding=1)
            torch.testing.assert_close(y[b : b + 1], expected)
            torch.testing.assert_close(block(x[b : b + 1]), expected)


def test_condconv_parameters_and_macs() -> None:
    """E expert kernels + the routing layer; MACs: conv, routing and kernel mixing."""
    c, e, size = 16, 4, 8
    assert _params(create_block("condconv", c, experts=e)) == e * c * c * 9 + c * e + e
    expected = size * size * c * c * 9 + c * e + e * c * c * 9
    assert _meta_macs("condconv", c, size, experts=e) == expected


# --- DCNv2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2])
def test_deform_starts_as_a_regular_conv_with_half_masks(stride: int) -> None:
    """Zero-initialised offset conv: regular grid, masks sigmoid(0) = 0.5 (DCNv2 section 3.1)."""
    torch.manual_seed(0)
    block = _built(DeformConv, "deform", 8, groups=2, offset_groups=4, stride=stride)
    x = torch.randn(2, 8, 7, 7)
    with torch.no_grad():
        plain = F.conv2d(x, block.weight, stride=stride, padding=1, groups=2)
        torch.testing.assert_close(block(x), 0.5 * plain)


def test_deform_offsets_move_the_samples_and_get_gradients() -> None:
    torch.manual_seed(0)
    block = _built(DeformConv, "deform", 4)
    nn.init.normal_(block.offset.weight, std=0.5)
    x = torch.randn(1, 4, 6, 6)
    plain = F.conv2d(x, block.weight, padding=1)
    y = block(x)
    assert not torch.allclose(y, 0.5 * plain, atol=1e-3)
    y.square().sum().backward()
    assert block.offset.weight.grad is not None and block.offset.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("channels", "side", "stride", "groups", "offset_groups"),
    [(4, (5, 5), 1, 1, 1), (4, (6, 4), 2, 2, 2), (4, (2, 3), 1, 1, 2), (8, (1, 1), 1, 1, 1)],
)
def test_deform_trains_on_the_cpu_as_torchvision_computes(
    channels: int, side: tuple[int, int], stride: int, groups: int, offset_groups: int
) -> None:
    """Training on the CPU (train mode, autograd) samples the taps with ``grid_sample`` and
    convolves them 1x1 (the speed-up; a map of side 1 keeps the operator); that gives
    torchvision's ``deform_conv2d``, which runs in eval mode or without autograd (the cost
    model, evaluation, export), and its gradients, with offsets reaching past the border."""
    torch.manual_seed(0)
    params = {"groups": groups, "offset_groups": offset_groups, "stride": stride}
    block = _built(DeformConv, "deform", channels, **params).double().train()
    with torch.no_grad():
        for tensor in block.offset.parameters():
            tensor.copy_(torch.randn_like(tensor) * 0.7)
    x = torch.randn(2, channels, *side, dtype=torch.float64, requires_grad=True)
    inputs = [x, block.weight, *block.offset.parameters()]
    trained = block(x)
    grads = torch.autograd.grad(trained.square().sum(), inputs)
    reference = block.eval()(x)
    expected = torch.autograd.grad(reference.square().sum(), inputs)
    torch.testing.assert_close(trained, reference)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)
    assert torch.autograd.gradcheck(block.train(), (x,), eps=1e-6, atol=1e-5)


def test_deform_flop_formula_is_registered_and_counted_on_meta() -> None:
    """The deformable conv counts like a conv of its weight; the offset conv like a conv."""
    assert torch.ops.torchvision.deform_conv2d in EXTRA_FLOP_FORMULAS
    c, og, size = 16, 2, 8
    for stride, side in ((1, 8), (2, 4)):
        conv = side * side * c * (c // 2) * 9
        offsets = side * side * 27 * og * c * 9
        macs = _meta_macs("deform", c, size, stride, groups=2, offset_groups=og)
        assert macs == conv + offsets


# --- SCNet ------------------------------------------------------------------------------


def test_scconv_parameter_count() -> None:
    """Four 3x3 convs (K1 plain, K2-K4 calibrated) on C/2 channels, each with BN."""
    c = 16
    half = c // 2
    assert _params(create_block("scconv", c)) == 4 * (9 * half * half + 2 * half)


def test_scconv_halves_are_separate() -> None:
    """The plain half Y2 = K1(X2) never sees X1, the calibrated half never sees X2."""
    torch.manual_seed(0)
    block = _built(SelfCalibratedConv, "scconv", 8, stride=2).eval()
    assert block.calibrated == 4
    x = torch.randn(1, 8, 9, 9)
    x1_changed, x2_changed = x.clone(), x.clone()
    x1_changed[:, :4] += 1.0
    x2_changed[:, 4:] += 1.0
    with torch.no_grad():
        y, y1c, y2c = block(x), block(x1_changed), block(x2_changed)
    torch.testing.assert_close(y1c[:, 4:], y[:, 4:])
    torch.testing.assert_close(y2c[:, :4], y[:, :4])
    assert not torch.allclose(y1c[:, :4], y[:, :4])


@pytest.mark.parametrize("pooling_r", [2, 4])
def test_scconv_calibration_runs_at_one_over_r_resolution(pooling_r: int) -> None:
    """K2 works on the r-times down-sampled map: its MACs shrink by r^2 (eq. 1)."""
    c, size = 8, 8
    half = c // 2
    full = size * size * 9 * half * half
    small = (size // pooling_r) ** 2 * 9 * half * half
    assert _meta_macs("scconv", c, size, pooling_r=pooling_r) == 3 * full + small
