"""FLOP and MAC rules for operations ``torch.utils.flop_counter`` does not count right.

A block that calls an operator the counter does not know (``torchvision::deform_conv2d``, say)
adds its formula here from its own module, keyed by the operator overload packet, as
``FlopCounterMode(custom_mapping=...)`` expects: ``formula(*args, out_shape=..., **kwargs)``
returns FLOPs (2 per multiply-accumulate). :func:`einsum_macs` is the rule for ``torch.einsum``,
which never reaches the counter itself (see :mod:`searchspace.cost`). Kept apart from
:mod:`searchspace.cost`, and free of torch, so block modules can import it without importing
the builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {}


def einsum_macs(equation: str, shapes: Sequence[Sequence[int]]) -> int:
    """Multiply-accumulates of ``torch.einsum(equation, *operands)`` for operands of ``shapes``.

    The product of the sizes of all distinct indices, output ones times contracted ones: the
    naive loop visits each combination once with one multiply-add, so the count is >= the
    output size even when every contracted index has size 1 (where torch computes the einsum
    as an element-wise product, which the flop counter counts as zero). ``...`` stands for
    broadcast dimensions, aligned from the right; a size-1 index broadcasts against a larger
    one. One operand is a permutation or a sum, which has no multiplies: 0.
    """
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    assert len(inputs) == len(shapes), f"einsum {equation!r}: {len(shapes)} operands"
    if len(inputs) < 2:
        return 0
    sizes: dict[str, int] = {}
    for term, shape in zip(inputs, shapes, strict=True):
        for label, size in zip(_labels(term, len(shape)), shape, strict=True):
            sizes[label] = max(sizes.get(label, 1), int(size))
    macs = 1
    for size in sizes.values():
        macs *= size
    return macs


def _labels(term: str, ndim: int) -> list[str]:
    """One label per dimension of an operand; ``...`` dims are ``...k``, k from the right."""
    if "..." not in term:
        return list(term)
    head, tail = term.split("...")
    broadcast = ndim - len(head) - len(tail)
    return [*head, *(f"...{broadcast - k}" for k in range(broadcast)), *tail]
