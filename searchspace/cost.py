"""Exact cost model: parameters and multiply-accumulates (MACs) of a spec at its input size.

MACs are counted by running the real network once on PyTorch's ``meta`` device under
``torch.utils.flop_counter.FlopCounterMode``, so every conv, linear, matmul, bmm and einsum an
attention block executes is counted from the code that executes it, never from a formula
that can drift from it. The convention is fvcore's: one MAC per multiply-add of those
operations (FLOPs / 2); element-wise work (activations, gating products, norms, pooling) is
not counted. ResNet-50 at 224x224 counts 4.09 GMACs this way.

An einsum is counted as one operation by :func:`searchspace.flops.einsum_macs` rather than
by the aten ops torch lowers it to: when every contracted index has size 1 torch multiplies
element-wise, which the counter would count as zero (RGA-C with ratio 8 at a 3x3 extent).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from searchspace.build import build_model
from searchspace.flops import EXTRA_FLOP_FORMULAS, einsum_macs
from searchspace.spec import ArchSpec


@dataclass(frozen=True)
class Cost:
    """What a network costs for one image: ``macs`` multiply-accumulates, ``params`` weights."""

    macs: int
    params: int

    def to_dict(self) -> dict[str, int]:
        return {"macs": self.macs, "params": self.params}


def module_cost(module: nn.Module, input_shape: tuple[int, ...]) -> Cost:
    """Cost of ``module`` (built on the meta device or not) for one input of ``input_shape``."""
    params = sum(p.numel() for p in module.parameters())
    was_training = module.training
    module.eval()
    device = next(iter(module.parameters()), torch.empty(0, device="meta")).device
    x = torch.empty(input_shape, device=device)
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FLOP_FORMULAS)
    einsums = _EinsumCounter(counter)
    with counter, einsums, torch.no_grad():
        module(x)
    module.train(was_training)
    return Cost(macs=(counter.get_total_flops() + einsums.correction) // 2, params=params)


class _EinsumCounter(TorchFunctionMode):
    """Re-counts every ``torch.einsum`` by :func:`einsum_macs`.

    ``torch.einsum`` is decomposed before ``FlopCounterMode`` sees it, so this mode, which
    sees the call itself, notes what the counter added for its decomposition and keeps the
    difference to the rule's count in :attr:`correction` (FLOPs, 2 per MAC).
    """

    def __init__(self, counter: FlopCounterMode) -> None:
        super().__init__()
        self.counter = counter
        self.correction = 0

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is not torch.einsum or not args or not isinstance(args[0], str):
            return func(*args, **kwargs)
        before = self.counter.get_total_flops()
        out = func(*args, **kwargs)
        operands = args[1] if len(args) == 2 and isinstance(args[1], list | tuple) else args[1:]
        shapes = [tuple(operand.shape) for operand in operands]
        counted = self.counter.get_total_flops() - before
        self.correction += 2 * einsum_macs(args[0], shapes) - counted
        return out


def count_cost(spec: ArchSpec) -> Cost:
    """Parameters and MACs of ``spec`` for one ``input_size`` x ``input_size`` image.

    Memoised by the spec's canonical form (equivalent specs build the same network): a search
    costs the same plain or reused layout many times, and each count runs the whole network.
    """
    return _count_canonical(json.dumps(spec.to_dict(), sort_keys=True))


@functools.lru_cache(maxsize=1024)
def _count_canonical(payload: str) -> Cost:
    spec = ArchSpec.from_dict(json.loads(payload))
    with torch.device("meta"):
        model = build_model(spec)
    return module_cost(model, (1, spec.in_channels, spec.input_size, spec.input_size))
