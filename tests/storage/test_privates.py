"""Optuna's private names are read in ``storage/internals.py`` only.

That module's accessors are pinned against the installed Optuna (``test_internals.py``); a
private read anywhere else would break silently on an Optuna release. This scans the source of
every package of ours (not tests, which may pin upstream) for the private attributes we know
Optuna has, for the metric-names key, and, generically, for any ``optuna`` module or attribute
path with a ``_`` component.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("nas", "searchspace", "storage", "workers")
HOME = REPO / "storage" / "internals.py"
PRIVATE_ATTRIBUTES = {
    "_backend",
    "_cached_frozen_trial",
    "_frozen",
    "_get_stale_trial_ids",
    "_storage",
    "_study_id",
    "_trial_id",
}
"""Private attributes of Optuna objects (studies, trials, storages, ``_CachedStorage``)."""
PRIVATE_STRINGS = {"study:metric_names", *PRIVATE_ATTRIBUTES}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_optuna_path(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "optuna" and any(_private(part) for part in parts[1:])


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def offences(source: str) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for every Optuna private that ``source`` touches."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if node.attr in PRIVATE_ATTRIBUTES:
                yield node.lineno, f".{node.attr}"
            elif _private(node.attr) and dotted is not None and _private_optuna_path(dotted):
                yield node.lineno, dotted
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_STRINGS:
            yield node.lineno, repr(node.value)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _private_optuna_path(alias.name):
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if any(_private_optuna_path(name) for name in [node.module, *names]):
                yield node.lineno, f"from {node.module} import ..."


def _sources() -> list[Path]:
    files = [path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]
    return [path for path in files if path != HOME]


def test_no_optuna_private_outside_storage_internals() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in _sources()
        for line, what in offences(path.read_text())
    ]
    assert len(_sources()) > 50, "the scan found too few files: wrong REPO?"
    assert not found, "use storage.internals instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "x = study._storage",
        "storage._backend.url",
        "n = trial._trial_id",
        "s = summary._study_id",
        "storage._get_stale_trial_ids(1)",
        "getattr(storage, '_backend', None)",
        "attrs['study:metric_names']",
        "from optuna.study._frozen import FrozenStudy",
        "from optuna.storages import _CachedStorage",
        "import optuna.storages._rdb.models",
        "kind = optuna.storages._CachedStorage",
    ],
)
def test_the_scan_finds_each_kind_of_private(source: str) -> None:
    assert list(offences(source)), f"missed: {source}"


def test_the_scan_passes_public_and_our_own_names() -> None:
    source = (
        "from optuna.storages import RDBStorage\nimport optuna.study\nv = optuna.__version__\n"
        "self._wrapped.get_trial(1)\nx = study.metric_names\nfrom storage._x import y\n"
    )
    assert list(offences(source)) == []
    assert list(offences(HOME.read_text())), "storage/internals.py holds the privates"
