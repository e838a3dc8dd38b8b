"""External attention, the NMF Hamburger, the disentangled non-local block and SimAM, pinned
to their papers: parameter counts and MACs by hand (one MAC per multiply-add of convs and
matrix products), the double normalisation, the one-step gradient, whitening, zero weights."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

import searchspace.blocks.ham as ham_module
from searchspace.blocks import create_block
from searchspace.blocks.dnl import DisentangledNonLocal
from searchspace.blocks.external import ExternalAttention
from searchspace.blocks.ham import Hamburger
from searchspace.catalog import block_info
from tests.searchspace.block_measures import C, H, N, W, macs, n_params


def test_only_the_quadratic_one_is_late_only() -> None:
    late = {n for n in ("external", "ham", "dnl", "simam") if block_info(n).late_only}
    assert late == {"dnl"}


def test_external_attention_parameters_and_macs() -> None:
    s = 64
    block = create_block("external", C)
    assert n_params(block) == (C * C + C) + 2 * C * s + C * C + 2 * C
    assert macs("external") == 2 * C * C * N + 2 * C * s * N


def test_external_attention_double_normalisation() -> None:
    block = create_block("external", C, memory=16)
    assert isinstance(block, ExternalAttention)
    attn = block.attention(torch.randn(2, C, N))
    assert attn.shape == (2, 16, N)
    torch.testing.assert_close(attn.sum(dim=1), torch.ones(2, N))
    assert torch.equal(block.memory_value.weight[:, :, 0], block.memory_key.weight[:, :, 0].T)


def test_ham_parameters_and_macs() -> None:
    r, k, d = 16, 6, C
    assert n_params(create_block("ham", C)) == (C * C + C) + C * C + 2 * C
    step = 2 * N * d * r + 2 * d * r * r + 2 * N * r * r
    last = N * d * r + d * r * r + N * r * r
    expected = 2 * C * C * N + N * d * r + k * step + last + d * r * N
    assert macs("ham") == expected


def test_ham_runs_its_steps_without_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-step gradient: K updates under no_grad, one differentiated coefficient update."""
    seen: list[bool] = []
    original = ham_module.nmf_step

    def spy(x: Tensor, bases: Tensor, coef: Tensor) -> tuple[Tensor, Tensor]:
        seen.append(torch.is_grad_enabled())
        return original(x, bases, coef)

    monkeypatch.setattr(ham_module, "nmf_step", spy)
    block = create_block("ham", C, steps=3)
    assert isinstance(block, Hamburger)
    x = torch.randn(2, C, H, W, requires_grad=True)
    block(x).sum().backward()
    assert seen == [False, False, False]
    assert x.grad is not None and block.lower.weight.grad is not None


def test_ham_is_deterministic_at_eval_and_its_bases_are_not_state() -> None:
    block = create_block("ham", C)
    assert isinstance(block, Hamburger)
    assert "bases" not in block.state_dict()
    again = create_block("ham", C)
    assert isinstance(again, Hamburger)
    assert torch.equal(block.bases, again.bases)
    assert (block.bases >= 0).all()
    torch.testing.assert_close(block.bases.norm(dim=0), torch.ones(16))
    x = torch.randn(2, C, H, W)
    block.eval()
    with torch.no_grad():
        assert torch.equal(block(x), block(x))
        block.train()
        assert not torch.equal(block(x), block(x)), "training draws new bases"


def test_dnl_parameters_and_macs() -> None:
    inner = C // 2
    block = create_block("dnl", C)
    assert n_params(block) == 3 * (C * inner + inner) + (C + 1) + (inner * C + C) + 2 * C
    expected = 3 * C * inner * N + C * N + 2 * N * N * inner + N * inner + inner * C * N
    assert macs("dnl") == expected


def test_dnl_is_the_identity_at_init_and_its_pairwise_term_is_whitened() -> None:
    block = create_block("dnl", C).eval()
    assert isinstance(block, DisentangledNonLocal)
    x = torch.randn(2, C, H, W)
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.key.get_parameter("bias").add_(
            5.0
        )  # a constant key shift is removed by the whitening
        shifted = block.pairwise(x)
        block.key.get_parameter("bias").sub_(5.0)
        torch.testing.assert_close(shifted, block.pairwise(x))
        torch.testing.assert_close(shifted.sum(-1), torch.ones(2, N))


def test_simam_has_no_parameters_and_no_macs() -> None:
    assert n_params(create_block("simam", C)) == 0
    assert macs("simam") == 0
    assert block_info("simam").param_index["e_lambda"].default == 1e-4


def test_simam_matches_the_energy_formula() -> None:
    """Eq. 4: e* = 4 (s^2 + l) / ((t - mu)^2 + 2 s^2 + 2 l), output x * sigmoid(1 / e*)."""
    x, lam = torch.randn(2, C, H, W), 1e-2
    mu = x.mean(dim=(2, 3), keepdim=True)
    var = (x - mu).square().sum(dim=(2, 3), keepdim=True) / (N - 1)
    energy = 4 * (var + lam) / ((x - mu).square() + 2 * var + 2 * lam)
    got = create_block("simam", C, e_lambda=lam)(x)
    torch.testing.assert_close(got, x * torch.sigmoid(1 / energy))
