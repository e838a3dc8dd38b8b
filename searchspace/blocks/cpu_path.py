"""When a block takes its CPU-training path (docs/performance.md, "Slow blocks on the CPU").

Some blocks' paper formulation trains slowly on a CPU: a window einsum that copies every
pixel's neighbourhood, an over-complete map mostly thrown away, logits the size of the feature
map squared, a scalar backward. Those blocks (:data:`BLOCKS`) compute the same values another
way while training there, checked equal to the paper's form in double precision with
``gradcheck``. Everywhere else the paper's form runs: in eval mode and without autograd (the
cost model counts its multiply-accumulates; evaluation, tracing and export run it) and on
CUDA, where the alternatives are unmeasured. :func:`forced` lets a benchmark
(``bench/block_paths.py``) take the path on any device, or nowhere, to measure it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor

BLOCKS = ("deform", "local_relation", "mhsa", "psa", "rga", "san")
"""The registry names of the blocks that have a CPU-training path."""

_FORCED: ContextVar[bool | None] = ContextVar("cpu_training_path_forced", default=None)


def cpu_training(training: bool, x: Tensor) -> bool:
    """Whether a block in mode ``training`` with input ``x`` takes its CPU-training path:
    train mode, autograd on and ``x`` on the CPU (or on any device, or none, under
    :func:`forced`)."""
    if not (training and torch.is_grad_enabled()):
        return False
    force = _FORCED.get()
    return x.device.type == "cpu" if force is None else force


@contextmanager
def forced(on: bool) -> Iterator[None]:
    """Within the block: the CPU-training path on every device (``on``) or on none, still only
    in train mode with autograd on. For measuring the path where it is not the default."""
    token = _FORCED.set(on)
    try:
        yield
    finally:
        _FORCED.reset(token)
