"""When a block takes its CPU-training path (docs/performance.md, "Slow blocks on the CPU").

Some blocks' paper formulation trains slowly on a CPU: a window einsum that copies every
pixel's neighbourhood, an over-complete map mostly thrown away, logits the size of the feature
map squared, a scalar backward. Those blocks (``local_relation``, ``san``, ``psa``, ``mhsa``,
``deform``, ``rga``) compute the same values another way while training there, checked equal
to the paper's form in double precision with ``gradcheck``. Everywhere else the paper's form
runs: in eval mode and without autograd (the cost model counts its multiply-accumulates;
evaluation, tracing and export run it) and on CUDA, where the alternatives are unmeasured.
"""

from __future__ import annotations

import torch
from torch import Tensor


def cpu_training(training: bool, x: Tensor) -> bool:
    """Whether a block in mode ``training`` with input ``x`` takes its CPU-training path:
    train mode, autograd on and ``x`` on the CPU."""
    return training and torch.is_grad_enabled() and x.device.type == "cpu"
