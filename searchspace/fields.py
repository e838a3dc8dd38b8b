"""Field checks: the one vocabulary every user-facing setting is checked in.

Each check takes the field's name *as the user wrote it* (``proxy.epochs`` in a config file,
``--epochs`` on the command line, ``width`` in a spec) and returns the value or raises a
one-line ``ValueError`` that starts with that name. :class:`Names` says how one section's
fields are written, so the code that checks a section is the same wherever it was typed and no
message is rewritten afterwards. It lives at the bottom layer because specs, the workers'
settings and the search config (``nas.config.checks``) all use it; it imports nothing of ours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WIDTH_MAX = 8
"""The widest width multiplier a spec, a proxy or a search space may ask for: (0, 8]."""


@dataclass(frozen=True)
class Names:
    """How the user wrote the fields of one section.

    ``section.field`` in a file or a stored trial config (``proxy.epochs``, ``budget.lr``);
    ``flags`` names the ones given on a command line instead (``{"epochs": "--epochs"}``).
    ``nulls`` says how an optional field's "unset" is spelled there (``{"width": "0 (the
    spec's)"}``; ``null`` otherwise).
    """

    section: str
    flags: Mapping[str, str] = field(default_factory=dict)
    nulls: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, key: str) -> str:
        return self.flags.get(key, f"{self.section}.{key}")

    def null(self, key: str) -> str:
        return self.nulls.get(key, "null")

    def written(self, key: str) -> str:
        """The field as a sentence names it: ``--data-dir``, ``[data] data_dir``."""
        return self.flags.get(key, f"[{self.section}] {key}")

    def set_to(self, key: str, value: str) -> str:
        """How the user gives it a value: ``pass --data-dir DIR``, ``set [data] data_dir =
        "DIR"``."""
        if key in self.flags:
            return f"pass {self.flags[key]} {value}"
        return f'set [{self.section}] {key} = "{value}"'


def reject_unknown(where: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """``ValueError`` for the first key of ``data`` that is not in ``allowed``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ValueError(f"{where}.{key}: unknown key; allowed: {', '.join(allowed)}")


def integer(name: str, value: Any, *, minimum: int = 1, null: str | None = None) -> int | None:
    """``value`` as an int ``>= minimum``; ``None`` allowed when ``null`` spells it."""
    if value is None and null is not None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = f" or {null}" if null is not None else ""
        raise ValueError(f"{name}: expected an integer >= {minimum}{extra}, got {value!r}")
    return value


def number(
    name: str,
    value: Any,
    *,
    low: float = 0,
    high: float = math.inf,
    open_low: bool = False,
    null: str | None = None,
) -> float | None:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` when ``open_low``).

    The bounds are shown as the caller wrote them (``8`` or ``8.0``); ``None`` is allowed when
    ``null`` spells it.
    """
    if value is None and null is not None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        upper = "inf)" if math.isinf(high) else f"{high}]"
        extra = f" or {null}" if null is not None else ""
        raise ValueError(
            f"{name}: expected a number in {bracket}{low}, {upper}{extra}, got {value!r}"
        )
    return float(value)


def width(name: str, value: Any, *, null: str | None = None) -> float | None:
    """A width multiplier in (0, :data:`WIDTH_MAX`]."""
    return number(name, value, high=WIDTH_MAX, open_low=True, null=null)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a fixed few (``sgd, adamw``), listed in the message."""
    if value not in allowed or not isinstance(value, str):
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def among(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of a registry's names (which may grow), listed in the message."""
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
    return str(value)


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    return value
