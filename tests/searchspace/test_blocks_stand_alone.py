"""Local relation and SAN, the window attention that replaces the 3x3 conv: parameter counts
and MACs by hand, softmax over valid neighbours, the geometric prior, stride."""

from __future__ import annotations

import pytest
import torch

from searchspace.blocks import create_block
from searchspace.blocks.local_relation import LocalRelation
from searchspace.blocks.san import SelfAttentionConv
from searchspace.catalog import block_info
from tests.searchspace.block_measures import C, H, N, W, macs, n_params

AREA = 49


@pytest.mark.parametrize("name", ["local_relation", "san"])
def test_they_only_replace_the_conv(name: str) -> None:
    assert block_info(name).positions == ("replace",)
    assert not block_info(name).late_only


def test_local_relation_parameters_and_macs() -> None:
    groups, hidden = C // 8, 16
    block = create_block("local_relation", C)
    prior = (2 * hidden + hidden) + (hidden * groups + groups)
    assert n_params(block) == 2 * C * groups + prior + C * C
    expected = 2 * C * groups * N + (2 * hidden + hidden * groups) * AREA + C * AREA * N + C * C * N
    assert macs("local_relation") == expected


def test_local_relation_strided_counts_only_the_strided_pixels() -> None:
    groups, hidden, out = C // 8, 16, 3 * 3
    expected = (
        (C * groups * out + C * groups * N + (2 * hidden + hidden * groups) * AREA)
        + C * AREA * out
        + C * C * out
    )
    assert macs("local_relation", stride=2) == expected


def test_local_relation_without_appearance_is_a_fixed_softmax_kernel() -> None:
    """Zero query/key maps leave softmax(prior) over the window: a 3x3 averaging kernel when the
    prior is flat, so the centre of a constant map stays constant."""
    block = create_block("local_relation", 8, extent=3)
    assert isinstance(block, LocalRelation)
    with torch.no_grad():
        block.query.weight.zero_()
        block.key.weight.zero_()
        block.prior_out.weight.zero_()
        block.project.weight.copy_(torch.eye(8)[:, :, None, None])
    x = torch.ones(1, 8, 4, 4)
    torch.testing.assert_close(block(x), x)  # masked borders: weights sum to one everywhere


@pytest.mark.parametrize(("side", "stride", "extent"), [(7, 1, 3), (14, 1, 7), (9, 2, 5)])
def test_local_relation_trains_on_the_cpu_as_its_einsum_computes(
    side: int, stride: int, extent: int
) -> None:
    """Training on the CPU (train mode, autograd) aggregates the window one offset at a time
    (the speed-up); that gives the einsum's output, which runs in eval mode or without
    autograd (the cost model, evaluation, export), and gradients that match finite
    differences."""
    torch.manual_seed(0)
    block = LocalRelation(16, extent=extent, stride=stride).double()
    x = torch.randn(2, 16, side, side, dtype=torch.float64, requires_grad=True)
    trained = block(x)
    with torch.no_grad():
        reference = block(x)
    torch.testing.assert_close(trained, reference)
    torch.testing.assert_close(block.eval()(x), reference)
    block.train()
    if side < 14:
        assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("variant", ["patchwise", "pairwise"])
@pytest.mark.parametrize(("side", "stride"), [(6, 1), (7, 2)])
def test_san_trains_on_the_cpu_as_its_einsum_computes(variant: str, side: int, stride: int) -> None:
    """SAN's footprint aggregation, one offset at a time when training on the CPU, gives the
    einsum's output (eval mode, no autograd) and gradients that match finite differences."""
    torch.manual_seed(0)
    block = create_block("san", 16, variant=variant, extent=3, stride=stride).double()
    x = torch.randn(2, 16, side, side, dtype=torch.float64, requires_grad=True)
    trained = block(x)
    with torch.no_grad():  # still train mode: the weight network's batch norm, same statistics
        reference = block(x)
    torch.testing.assert_close(trained, reference)
    assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-5)


def test_san_patchwise_parameters_and_macs() -> None:
    r, wc = C // 16, C // 8
    block = create_block("san", C)
    convs = 2 * (C * r + r) + C * C + C
    net = 2 * r * (AREA + 1) + r * (AREA + 1) * wc + 2 * wc + wc * AREA * wc + AREA * wc
    assert n_params(block) == convs + net
    expected = 2 * C * r * N + C * C * N + (r * (AREA + 1) * wc + wc * AREA * wc) * N
    assert macs("san") == expected + C * AREA * N


def test_san_pairwise_parameters_and_macs() -> None:
    r, wc = C // 16, C // 8
    block = create_block("san", C, variant="pairwise")
    convs = 2 * (C * r + r) + C * C + C + (2 * 2 + 2)
    net = 2 * (r + 2) + (r + 2) * r + 2 * r + r * wc + wc
    assert n_params(block) == convs + net
    expected = 2 * C * r * N + C * C * N + 2 * 2 * N + ((r + 2) * r + r * wc) * AREA * N
    assert macs("san", variant="pairwise") == expected + C * AREA * N


def test_san_pairwise_weights_normalise_over_the_footprint() -> None:
    """With the values replaced by ones, each output is the sum of its weights: one."""
    block = create_block("san", C, variant="pairwise").eval()
    assert isinstance(block, SelfAttentionConv)
    with torch.no_grad():
        block.conv3.weight.zero_()
        block.conv3.get_parameter("bias").fill_(1.0)
        y = block(torch.randn(2, C, H, W))
    torch.testing.assert_close(y, torch.ones_like(y))


@pytest.mark.parametrize("name", ["local_relation", "san"])
def test_share_must_divide_the_channels(name: str) -> None:
    with pytest.raises(ValueError, match="share=8"):
        create_block(name, 12)
