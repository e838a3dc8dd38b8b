"""``nas`` imports along its pipeline: no import circle anywhere in it, and neither
``nas.confirm`` nor ``nas.export`` imports ``nas.search`` (they read the study a search left).

Every module under ``nas/`` is found on disk and read with ``ast``, so a module added later is
checked too; imports inside functions and under ``TYPE_CHECKING`` count like those at the top.
Run in a fresh interpreter, as ``tests/storage/test_layering.py`` is, so that nothing another
test imported stands in for the files read here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = r"""
import ast, json, sys
from pathlib import Path

root = Path("nas")
modules = {}
for path in sorted(root.rglob("*.py")):
    parts = path.with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    modules[name] = path

def imported(name, path):
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return sorted(m for m in found if m in modules and m != name)

graph = {name: imported(name, path) for name, path in modules.items()}
print(json.dumps(graph))
"""


def _graph() -> dict[str, list[str]]:
    import json

    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    graph: dict[str, list[str]] = json.loads(run.stdout)
    assert "nas.search.run" in graph and "nas.cli" in graph, "the probe found nas's modules"
    return graph


def _circle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order), or ``None``."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        path.append(name)
        for target in graph.get(name, []):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        found = visit(name)
        if found:
            return found
    return None


def test_no_import_circle_in_nas() -> None:
    circle = _circle(_graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_the_circle_finder_finds_one() -> None:
    """The check above can fail: a two-module circle and a longer one are found."""
    assert _circle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert _circle({"a": ["b"], "b": ["c"], "c": ["b"], "d": []}) == ["b", "c", "b"]
    assert _circle({"a": ["b", "c"], "b": ["c"], "c": []}) is None


def test_confirm_and_export_never_import_search() -> None:
    graph = _graph()
    downstream = [m for m in graph if m.split(".")[:2] in (["nas", "confirm"], ["nas", "export"])]
    assert "nas.confirm.run" in downstream, "confirm's modules were found"
    wrong = {
        m: [t for t in graph[m] if t.split(".")[:2] == ["nas", "search"]]
        for m in downstream
        if any(t.split(".")[:2] == ["nas", "search"] for t in graph[m])
    }
    assert not wrong, f"confirm/export import search: {wrong}"


def test_nas_keeps_its_rooms_small() -> None:
    """Issue 23's shape, held: no module of ``nas/`` over 300 lines (a longer one holds two
    concepts: split it where they part) and ``nas/search`` at most 9 modules besides its
    ``__init__`` (a tenth is a concept that belongs elsewhere, or two that should be one)."""
    lines = {
        str(path.relative_to(REPO)): len(path.read_text().splitlines())
        for path in sorted((REPO / "nas").rglob("*.py"))
    }
    long = {name: n for name, n in lines.items() if n > 300}
    assert long == {}, f"over 300 lines: {long}"
    search = sorted(p.name for p in (REPO / "nas" / "search").glob("*.py"))
    assert len([n for n in search if n != "__init__.py"]) <= 9, search
