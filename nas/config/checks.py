"""Field checks of the ``nas search`` config: ``check(name, value) -> value``.

The messages are :mod:`searchspace.fields`' (the one vocabulary specs, the workers' settings
and this config share); this module makes them into checks a section's table can hold
(``"trials": integer(1)``) and adds what only a search config has: lists, registries read
when checked (a block, sampler or objective registered after import is accepted), per-block
parameter lists and a writable folder. ``name`` is the field as written in the file
(``search.trials``, ``space.blocks[1]``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nas.pruning.registry import PRUNERS
from nas.sampling.registry import SAMPLERS
from searchspace import fields
from searchspace.catalog import Choice, block_info, block_names
from searchspace.fields import reject_unknown
from searchspace.registry import Registry

Check = Callable[[str, Any], Any]

string: Check = fields.text
boolean: Check = fields.flag


def optional(check: Check) -> Check:
    return lambda name, value: None if value is None else check(name, value)


def integer(minimum: int) -> Check:
    return lambda name, value: fields.integer(name, value, minimum=minimum)


def number(low: float, high: float, *, open_low: bool = False) -> Check:
    return lambda name, value: fields.number(name, value, low=low, high=high, open_low=open_low)


def number_or(word: str, low: float, high: float) -> Check:
    """A number in ``[low, high]`` or the string ``word`` (``gpus_per_trial = "auto"``)."""

    def check(name: str, value: Any) -> float | str:
        if value == word:
            return word
        try:
            return float(fields.number(name, value, low=low, high=high) or 0)
        except ValueError:
            raise ValueError(
                f"{name}: expected a number in [{low}, {high}] or {word!r}, got {value!r}"
            ) from None

    return check


def width(name: str, value: Any) -> float:
    """A width multiplier, in the bound every width shares (``searchspace.fields.WIDTH_MAX``)."""
    return float(fields.width(name, value) or 0)


def one_of(allowed: tuple[str, ...]) -> Check:
    return among(lambda: allowed)


def among(names: Callable[[], tuple[str, ...]]) -> Check:
    """Checks that a value is one of ``names()``, read when checked (a registry may grow)."""
    return lambda name, value: fields.among(name, value, names())


REGISTRIES: dict[str, Registry[Any]] = {"sampler": SAMPLERS, "pruner": PRUNERS}
"""Each strategy's registry; its catalog, and Optuna, are imported on its first use, not here."""


def registry(kind: str) -> Registry[Any]:
    return REGISTRIES[kind]


def registered(kind: str) -> Check:
    """One of the names registered as a ``kind`` (``sampler``, ``pruner``)."""
    return among(lambda: registry(kind).names())


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
        return str(text)
    path = Path(text).expanduser().resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: {path} is not a writable folder ({existing} is not one this user can "
            "write); give another folder, or leave it unset for a temporary one"
        )
    return str(path)
