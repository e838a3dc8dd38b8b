"""Paper-pinned tests of the channel & spatial blocks (CBAM, BAM) and the ASPP plug-in."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
import torch
from torch import nn

from searchspace.blocks import create_block
from searchspace.blocks.aspp import ASPP, parse_rates
from searchspace.blocks.bam import BAM
from searchspace.blocks.cbam import CBAM
from searchspace.catalog import block_info
from searchspace.cost import module_cost
from searchspace.spec import ArchSpec

BlockT = TypeVar("BlockT", bound=nn.Module)


def _built(cls: type[BlockT], name: str, channels: int, **params: Any) -> BlockT:
    """``create_block`` through the registry, checked to be ``cls`` (and typed as it)."""
    block = create_block(name, channels, **params)
    assert isinstance(block, cls)
    return block


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _meta_macs(name: str, channels: int, size: int, **params: object) -> int:
    with torch.device("meta"):
        block = create_block(name, channels, **params)  # type: ignore[arg-type]
    return module_cost(block, (1, channels, size, size)).macs


@pytest.mark.parametrize(("channels", "ratio", "kernel"), [(64, 16, 7), (64, 4, 3), (3, 16, 7)])
def test_cbam_parameter_count(channels: int, ratio: int, kernel: int) -> None:
    """Shared MLP C -> r -> C with biases, a 2 -> 1 k x k conv and its BN (eq. 2, 3)."""
    r = max(1, channels // ratio)
    expected = channels * r + r + r * channels + channels + 2 * kernel * kernel + 2
    assert _params(create_block("cbam", channels, ratio=ratio, kernel=kernel)) == expected


def test_cbam_macs_count_both_pooled_descriptors_and_the_spatial_conv() -> None:
    """The shared MLP runs twice (avg and max descriptors); the spatial conv once per pixel."""
    c, r, k, size = 64, 4, 7, 8
    expected = 2 * (c * (c // r) * 2) + size * size * 2 * k * k
    assert _meta_macs("cbam", c, size, ratio=r, kernel=k) == expected


def test_cbam_channel_gate_sees_max_pooling() -> None:
    """A single bright pixel barely moves the mean but sets the max: the gate must react."""
    torch.manual_seed(0)
    block = _built(CBAM, "cbam", 8, ratio=2).eval()
    x = torch.rand(1, 8, 16, 16)
    peaked = x.clone()
    peaked[0, :, 3, 3] += 50.0
    with torch.no_grad():
        gate = block.fc2(block.act(block.fc1(x.amax((2, 3), keepdim=True))))
        gate_peaked = block.fc2(block.act(block.fc1(peaked.amax((2, 3), keepdim=True))))
        y, y_peaked = block(x), block(peaked)
    assert not torch.allclose(gate, gate_peaked)
    far = (slice(None), slice(None), slice(10, 16), slice(10, 16))
    assert not torch.allclose(y[far], y_peaked[far])


def test_bam_parameter_count() -> None:
    """Channel MLP with a BN'd hidden layer; 1x1, two dilated 3x3 and 1x1 spatial convs."""
    c, r = 64, 4
    channel = c * r + r + 2 * r + r * c + c
    spatial = c * r + r + 2 * r + 2 * (9 * r * r + r + 2 * r) + r + 1
    assert _params(create_block("bam", c, ratio=16)) == channel + spatial


@pytest.mark.parametrize("dilation", [2, 4])
def test_bam_spatial_branch_reaches_two_dilations(dilation: int) -> None:
    """Two 3x3 convs with dilation d see exactly 2d pixels away along a row (eq. 4)."""
    torch.manual_seed(0)
    block = _built(BAM, "bam", 16, ratio=4, dilation=dilation).eval()
    size, centre = 21, 10
    x = torch.randn(1, 16, size, size)
    with torch.no_grad():
        base = block.spatial_gate(x)[0, 0, centre, centre]
        for offset, reaches in ((2 * dilation, True), (2 * dilation + 1, False)):
            bumped = x.clone()
            bumped[0, :, centre, centre + offset] += 10.0
            moved = block.spatial_gate(bumped)[0, 0, centre, centre]
            assert bool(moved != base) is reaches, f"offset {offset}"


def test_bam_refines_residually_between_one_and_two_times_the_input() -> None:
    """F' = F + F * sigmoid(...) (eq. 1): on positive input, 1 < F'/F < 2 everywhere."""
    torch.manual_seed(0)
    block = create_block("bam", 32).eval()
    x = torch.rand(2, 32, 9, 9) + 0.1
    with torch.no_grad():
        ratio = block(x) / x
    assert (ratio > 1).all() and (ratio < 2).all()


def test_bam_and_aspp_declared_positions() -> None:
    assert block_info("bam").positions[0] == "stage_end"
    assert "branch" in block_info("bam").positions
    assert block_info("aspp").positions == ("stage_end",)


def test_aspp_is_rejected_inside_a_residual_block() -> None:
    spec = {"backbone": "resnet20", "stages": [{"block": "aspp", "position": "branch"}, {}, {}]}
    with pytest.raises(ValueError, match=r"stages\[0\]\.position.*allowed: stage_end"):
        ArchSpec.from_dict(spec)


def test_aspp_starts_as_the_identity_and_still_trains() -> None:
    """The projection's BN scale is zero at init, so the residual ASPP is the identity."""
    torch.manual_seed(0)
    block = _built(ASPP, "aspp", 16, rates="1-2-3")
    x = torch.randn(2, 16, 9, 9)
    y = block(x)
    assert torch.equal(y, x)
    y.sum().backward()
    assert block.project_bn.weight.grad is not None
    assert block.project_bn.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(("rates", "dilations"), [("6-12-18", (6, 12, 18)), ("2-4-6", (2, 4, 6))])
def test_aspp_rates_set_the_atrous_branches(rates: str, dilations: tuple[int, ...]) -> None:
    block = _built(ASPP, "aspp", 32, rates=rates)
    convs = [m for branch in block.branches for m in branch.modules() if isinstance(m, nn.Conv2d)]
    assert [conv.kernel_size for conv in convs] == [(1, 1)] + [(3, 3)] * 3
    assert tuple(conv.dilation[0] for conv in convs[1:]) == dilations
    assert tuple(conv.padding[0] for conv in convs[1:]) == dilations


def test_aspp_parameters_and_macs_match_the_hand_formula() -> None:
    """Five branches of C // 8 (DeepLab's 2048 -> 256), each conv + BN; 1x1 projection + BN."""
    c, rd, size = 64, 8, 7
    branch_weights = c * rd + 3 * 9 * c * rd
    params = branch_weights + c * rd + 5 * 2 * rd + 5 * rd * c + 2 * c
    assert _params(create_block("aspp", c)) == params
    macs = size * size * (branch_weights + 5 * rd * c) + c * rd
    assert _meta_macs("aspp", c, size) == macs


@pytest.mark.parametrize("bad", ["", "6-x", "0-1-2", "-3"])
def test_aspp_rejects_malformed_rates(bad: str) -> None:
    with pytest.raises(ValueError, match="dash-separated positive integers"):
        parse_rates(bad)


@pytest.mark.parametrize("name", ["cbam", "bam", "aspp"])
@pytest.mark.parametrize("size", [1, 2, 5])
def test_mixed_blocks_handle_one_channel_and_tiny_maps(name: str, size: int) -> None:
    """Reductions floor at one channel; dilated and atrous convs pad past 1x1 maps."""
    block = create_block(name, 1).eval()
    x = torch.randn(1, 1, size, size)
    with torch.no_grad():
        y = block(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
