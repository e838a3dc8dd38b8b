"""The four packages import in one direction: ``nas`` -> ``workers``, ``storage`` ->
``searchspace``. Read from the source with ``ast``, so an import inside a function or under
``TYPE_CHECKING`` counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("nas", "workers", "storage", "searchspace")
ALLOWED = {
    "searchspace": {"searchspace"},
    "workers": {"workers", "searchspace"},
    "storage": {"storage", "searchspace"},
    "nas": set(OURS),
}


def imported_packages(source: str) -> set[str]:
    """The top-level packages of ours that ``source`` imports anywhere."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(OURS)
    return found


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_the_layers_below(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path.read_text()) - ALLOWED[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert not {path: names for path, names in wrong.items() if names}


def test_the_check_sees_a_nested_import() -> None:
    source = "def f():\n    from nas.config import SearchConfig\n    import workers.train\n"
    assert imported_packages(source) == {"nas", "workers"}
