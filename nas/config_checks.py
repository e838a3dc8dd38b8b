"""Field checks of the ``nas search`` config: ``check(name, value) -> value``.

Each returns the value (normalised where said) or raises ``ValueError`` naming the field
(``search.trials: expected an integer >= 1, got 0``); :mod:`nas.config` builds a table of
them per section. Checks against a registry read it when they run, so a block, sampler or
objective registered after import is accepted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from searchspace.catalog import Choice, block_info, block_names
from workers._fields import reject_unknown

Check = Callable[[str, Any], Any]


def string(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def optional(check: Check) -> Check:
    return lambda name, value: None if value is None else check(name, value)


def integer(minimum: int) -> Check:
    def check(name: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
        return value

    return check


def number(low: float, high: float, *, open_low: bool = False) -> Check:
    def check(name: str, value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or value > high or value < low or (open_low and value == low):
            bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
            raise ValueError(f"{name}: expected a number in {bound}, got {value!r}")
        return float(value)

    return check


def one_of(allowed: tuple[str, ...]) -> Check:
    return among(lambda: allowed)


def among(names: Callable[[], tuple[str, ...]]) -> Check:
    """Checks that a value is one of ``names()``, read when checked (a registry may grow)."""

    def check(name: str, value: Any) -> str:
        allowed = names()
        if value not in allowed:
            raise ValueError(f"{name}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
        return str(value)

    return check


def list_of(item: Check, *, empty: bool = False) -> Check:
    def check(name: str, value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or not (value or empty):
            raise ValueError(f"{name}: expected a non-empty list, got {value!r}")
        items = tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))
        if len(set(items)) != len(items):
            raise ValueError(f"{name}: has duplicates: {list(value)!r}")
        return items

    return check


def block_params(name: str, value: Any) -> dict[str, dict[str, tuple[Choice, ...]]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected a table like [space.params.se] ratio = [8, 16]")
    out: dict[str, dict[str, tuple[Choice, ...]]] = {}
    for block, table in value.items():
        where = f"{name}.{block}"
        if block not in block_names():
            raise ValueError(f"{where}: unknown block; allowed: {', '.join(block_names())}")
        info = block_info(block)
        if not isinstance(table, Mapping):
            raise ValueError(f"{where}: expected a table of parameter lists")
        reject_unknown(where, table, tuple(info.param_index))
        out[block] = {}
        for param, choices in table.items():
            declared = info.param_index[param]

            def legal(n: str, v: Any, p: Any = declared) -> Any:
                problem = p.check(v)
                if problem:
                    raise ValueError(f"{n}: {problem}")
                return v

            out[block][param] = list_of(legal)(f"{where}.{param}", choices)
    return out


def writable_folder(name: str, value: Any) -> str:
    """A URI (``scheme://...``) as given; a local folder made absolute (Ray runs each trial in
    a folder of its own) that exists writable or can be created under a writable parent."""
    text = string(name, value)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: {path} is not a writable folder ({existing} is not one this user can "
            "write); give another folder, or leave it unset for a temporary one"
        )
    return str(path)
