"""Test modules share code through helper modules, never by importing each other.

A helper a second test module needs moves to a module that is not collected (``tests/idx.py``,
``tests/nas/dashboard.py``, ``tests/workers/datasets.py``...) or becomes a fixture in a
``conftest.py``, which pytest loads itself: importing a test module runs its module-level
code and registers its tests and fixtures a second time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FILES = sorted(TESTS.rglob("*.py"))


def _is_collected(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def imported_modules(path: Path) -> list[str]:
    """Every absolute module name ``path`` imports (``from a.b import c`` gives ``a.b.c`` too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(TESTS)) for p in FILES])
def test_no_module_imports_a_test_module_or_conftest(path: Path) -> None:
    wrong = [m for m in imported_modules(path) if m.startswith("tests.") and _is_collected(m)]
    assert not wrong, f"{path.relative_to(TESTS)} imports {wrong}: move what it needs to a helper"


def test_the_check_sees_such_an_import(tmp_path: Path) -> None:
    module = tmp_path / "test_a.py"
    module.write_text("from tests.nas.test_b import helper\nimport tests.workers.conftest\n")
    assert [m for m in imported_modules(module) if _is_collected(m)] == [
        "tests.nas.test_b",
        "tests.workers.conftest",
    ]
