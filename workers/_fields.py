"""Field checks shared by the config dataclasses: each names the field and what it accepts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def reject_unknown(where: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """``ValueError`` for the first key of ``data`` that is not in ``allowed``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ValueError(f"{where}.{key}: unknown key; allowed: {', '.join(allowed)}")


def integer(name: str, value: Any, *, minimum: int = 1, optional: bool = False) -> int | None:
    """``value`` as an int ``>= minimum`` (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or null" if optional else ""
        raise ValueError(f"{name}: expected an integer >= {minimum}{extra}, got {value!r}")
    return value


def number(
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    high: float = math.inf,
    open_low: bool = False,
    optional: bool = False,
) -> float | None:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` when ``open_low``)."""
    if value is None and optional:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        upper = "inf)" if math.isinf(high) else f"{high:g}]"
        extra = " or null" if optional else ""
        raise ValueError(
            f"{name}: expected a number in {bracket}{low:g}, {upper}{extra}, got {value!r}"
        )
    return float(value)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed or not isinstance(value, str):
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value
