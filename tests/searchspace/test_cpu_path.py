"""The switch between a block's paper form and its CPU-training path
(``searchspace/blocks/cpu_path.py``): which blocks have a path, when it is taken, and
``forced``, which takes it on any device (or nowhere) for ``bench/block_paths.py``."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from searchspace.blocks import create_block, registered_blocks
from searchspace.blocks.cpu_path import BLOCKS, cpu_training, forced
from tests.searchspace.block_measures import randomise


class CalledFunctions(TorchFunctionMode):
    """Records the names of the torch functions and tensor methods called under it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.names.add(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


def run(block: nn.Module, x: Tensor, path: bool) -> tuple[Tensor, list[Tensor], set[str]]:
    """``block(x)`` with the path on or off: its output, the gradients of a fixed random
    projection of it (input's first, then each parameter's) and the functions it called."""
    block.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_(True)
    with forced(path), CalledFunctions() as called:
        out = block(x)
    generator = torch.Generator().manual_seed(2)
    weights = torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
    (out * weights).sum().backward()
    assert x.grad is not None
    grads = [x.grad, *(p.grad for p in block.parameters() if p.grad is not None)]
    return out.detach(), grads, called.names


def test_the_blocks_with_a_path_are_those_whose_forward_asks_for_it() -> None:
    asking = {
        name
        for name, cls in registered_blocks().items()
        if "cpu_training(" in inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
    }
    assert asking == set(BLOCKS)


@pytest.mark.parametrize("name", BLOCKS)
def test_forced_switches_the_path_and_both_compute_the_same(name: str) -> None:
    """Under ``forced(True)`` the block runs other torch functions than under
    ``forced(False)`` (the switch works), and both give the same output and gradients in
    double precision: the path is the paper's form, computed another way."""
    block = randomise(create_block(name, 8)).double().train()
    x = torch.randn(2, 8, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out_path, grads_path, called_path = run(block, x, path=True)
    out_paper, grads_paper, called_paper = run(block, x, path=False)
    assert called_path != called_paper
    torch.testing.assert_close(out_path, out_paper)
    assert len(grads_path) == len(grads_paper)
    for got, want in zip(grads_path, grads_paper):
        torch.testing.assert_close(got, want)


def test_the_path_is_taken_only_when_training_with_autograd() -> None:
    x = torch.zeros(1)
    assert cpu_training(True, x)
    assert not cpu_training(False, x)
    with torch.no_grad():
        assert not cpu_training(True, x)
    with forced(False):
        assert not cpu_training(True, x)
    meta = torch.zeros(1, device="meta")  # any other device: the paper's form unless forced
    assert not cpu_training(True, meta)
    with forced(True):
        assert cpu_training(True, meta)
        assert not cpu_training(False, meta)
        with torch.no_grad():
            assert not cpu_training(True, meta)
    assert not cpu_training(True, meta)  # the context is undone on leaving


def test_forced_is_undone_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), forced(False):
        raise RuntimeError("in the block")
    assert cpu_training(True, torch.zeros(1))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", BLOCKS)
def test_the_path_runs_on_cuda_as_the_paper_form(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``bench/block_paths.py`` times on CUDA computes the paper's values there too
    (float32, TF32 convolutions off: the fused kernels still round differently from the
    einsums, hence the tolerance)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    block = randomise(create_block(name, 8)).cuda().train()
    x = torch.randn(2, 8, 6, 5, generator=torch.Generator().manual_seed(0)).cuda()
    out_path, grads_path, called_path = run(block, x, path=True)
    out_paper, grads_paper, called_paper = run(block, x, path=False)
    assert called_path != called_paper
    torch.testing.assert_close(out_path, out_paper, rtol=1e-3, atol=1e-3)
    for got, want in zip(grads_path, grads_paper):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
