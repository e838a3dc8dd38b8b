"""``nas.results`` sits below the steps that use it: search, confirm and export read fronts
through it, so it imports none of them, at module level or inside a function.

The module-level check runs in a fresh interpreter, so modules other tests imported cannot hide
an import; the function-level one reads every import statement of the package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nas.results

REPO = Path(__file__).resolve().parents[3]
USERS = ("nas.search", "nas.confirm", "nas.export", "nas.commands", "nas.cli")
PROBE = f"""
import importlib, pkgutil, sys
import nas.results
for module in pkgutil.iter_modules(nas.results.__path__):
    importlib.import_module(f"nas.results.{{module.name}}")
users = {USERS!r}
print(" ".join(sorted(m for m in sys.modules if m.startswith(users))))
"""


def test_results_modules_load_none_of_their_users() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [], f"nas.results loads {run.stdout.strip()}"


def test_no_import_statement_names_a_user() -> None:
    wrong = []
    for path in sorted(Path(nas.results.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            wrong += [f"{path.name}: {n}" for n in names if n.startswith(USERS)]
    assert not wrong, wrong
