"""FLOP formulas for operators ``torch.utils.flop_counter`` does not know.

A block that calls such an operator (``torchvision::deform_conv2d``, say) adds its formula
here from its own module, keyed by the operator overload packet, as
``FlopCounterMode(custom_mapping=...)`` expects: ``formula(*args, out_shape=..., **kwargs)``
returns FLOPs (2 per multiply-accumulate). Kept apart from :mod:`searchspace.cost` so block
modules can import it without importing the builder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {}
