"""When a block takes its CPU-training path (docs/performance.md, "Slow blocks on the CPU").

Some blocks' paper formulation trains slowly on a CPU: a window einsum that copies every
pixel's neighbourhood, an over-complete map mostly thrown away, logits the size of the feature
map squared, a scalar backward. Those blocks (:data:`BLOCKS`) compute the same values another
way while training there, checked equal to the paper's form in double precision with
``gradcheck``. Everywhere else the paper's form runs: in eval mode and without autograd (the
cost model counts its multiply-accumulates; evaluation, tracing and export run it) and on
CUDA, where the alternatives are unmeasured. :func:`forced` lets a benchmark
(``bench/block_paths.py``) take the path on any device, or nowhere, to measure it.

The switch is a module attribute, not a context variable: exported modules copy this file
with only the standard library and torch, and TorchScript compiles :func:`cpu_training` (as
the default, the CPU alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

BLOCKS = ("deform", "local_relation", "mhsa", "psa", "rga", "san")
"""The registry names of the blocks that have a CPU-training path."""

PATH_DEVICES: tuple[str, ...] = ("cpu",)
"""The device types on which a training block takes its path (:func:`forced` changes it)."""

DEVICE_TYPES: tuple[str, ...] = ("cpu", "cuda", "meta", "mps", "xpu")
"""What ``forced(True)`` sets :data:`PATH_DEVICES` to: every device type we may meet."""


def cpu_training(training: bool, x: Tensor) -> bool:
    """Whether a block in mode ``training`` with input ``x`` takes its CPU-training path:
    train mode, autograd on and ``x`` on the CPU (on any device, or none, under
    :func:`forced`)."""
    if not (training and torch.is_grad_enabled()):
        return False
    if not torch.jit.is_scripting():  # TorchScript reads no global tuple; skips this branch
        return x.device.type in PATH_DEVICES
    return x.device.type == "cpu"


@contextmanager
def forced(on: bool) -> Iterator[None]:
    """Within the block: the CPU-training path on every device (``on``) or on none, still only
    in train mode with autograd on. For measuring the path where it is not the default, in
    one thread (the setting is the module's, not the thread's)."""
    global PATH_DEVICES
    saved = PATH_DEVICES
    PATH_DEVICES = DEVICE_TYPES if on else ()
    try:
        yield
    finally:
        PATH_DEVICES = saved
