"""The check every block's CPU-training path passes (``searchspace/blocks/cpu_path.py``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def assert_cpu_path_is_the_papers(block: nn.Module, x: Tensor) -> None:
    """``block`` in train mode on ``x`` (double, requiring grad) takes its CPU-training path;
    its output equals the paper's form, which runs without autograd (still train mode: the
    same batch statistics), and its gradients match finite differences."""
    assert block.training and x.requires_grad and x.dtype == torch.float64
    trained = block(x)
    with torch.no_grad():
        reference = block(x)
    torch.testing.assert_close(trained, reference)
    assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-5)
