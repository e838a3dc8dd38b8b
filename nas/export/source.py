"""Collect the source of project objects and everything they reference, torch-only.

``nas export`` copies the attention block classes a spec uses and the ResNet of
:mod:`searchspace.resnet` into one file. A class alone is not enough: it may call module-level
helpers, use constants or subclass another block, possibly imported from a sibling module. This
module resolves every name a definition uses through its module's top-level statements, the
same way Python would at run time, and recurses:

- a top-level ``def``/``class``/assignment of a project module is copied (its ``@register``
  decorator dropped: the exported file has its own ``BLOCKS`` table);
- ``from searchspace.x import name`` is followed into ``searchspace.x``;
- an import of ``torch``, ``torchvision`` or the standard library becomes an import line;
- anything else (a third-party package) is refused: the file must run with torch alone.

Definitions come out dependencies first, so bases and constants exist before they are used.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import sys
import tokenize
from dataclasses import dataclass, field
from types import ModuleType

PROJECT_ROOT = "searchspace"
"""Only modules of this package are copied; the exported file never imports them."""

ALLOWED_EXTERNAL = frozenset({"torch", "torchvision"}) | frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class _Module:
    """A project module's top-level statements, indexed by the names they bind."""

    module: ModuleType
    text: str
    definitions: dict[str, ast.stmt]
    imports: dict[str, tuple[str | None, str, int]]
    """local name -> (``from`` module or None for ``import x``, imported name, level)."""

    def line_of(self, name: str) -> int:
        """Where ``name`` is bound, so copies keep their module's order (0 when unbound)."""
        node = self.definitions.get(name)
        return node.lineno if node is not None else 0


def _parse(module: ModuleType) -> _Module:
    text = inspect.getsource(module)
    definitions: dict[str, ast.stmt] = {}
    imports: dict[str, tuple[str | None, str, int]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            definitions[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    definitions[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            definitions[node.target.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module or "", alias.name, node.level)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                # ``import a.b`` binds ``a``; ``import a.b as c`` binds ``c`` to ``a.b``.
                local = alias.asname or alias.name.split(".")[0]
                imports[local] = (None, alias.name if alias.asname else local, 0)
    return _Module(module, text, definitions, imports)


def _used_names(node: ast.AST) -> set[str]:
    """Every identifier ``node`` reads (locals included: unknown ones are ignored later)."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    for string in ast.walk(node):
        # Quoted annotations ("nn.Module") are names too.
        if isinstance(string, ast.Constant) and isinstance(string.value, str):
            try:
                names |= _used_names(ast.parse(string.value, mode="eval"))
            except SyntaxError:
                continue
    return names


@dataclass
class SourceCollector:
    """Accumulates copied definitions and import lines for one exported file.

    ``drop_decorators`` are objects whose decorator calls are removed (the block registry's
    ``register``). ``reserved`` names belong to the generated code. Two different definitions
    with one name (two blocks' private ``_conv_bn_relu``) cannot share a file: the later one is
    renamed ``<name>_<module>``, and every copied reference to it follows.
    """

    drop_decorators: tuple[object, ...] = ()
    reserved: frozenset[str] = frozenset()
    chunks: list[str] = field(default_factory=list)
    external: set[tuple[str | None, str, str]] = field(default_factory=set)
    _names: dict[tuple[str, str], str] = field(default_factory=dict)
    _owners: dict[str, object] = field(default_factory=dict)
    _parsed: dict[str, _Module] = field(default_factory=dict)

    def add(self, obj: type | object) -> str:
        """Copy ``obj`` (a project class or function) and its dependencies; return its name."""
        module_name, name = obj.__module__, obj.__name__  # type: ignore[union-attr]
        return self._resolve(module_name, name)

    def imports_text(self) -> str:
        """The import lines the copied code needs (ruff's isort fix orders them finally)."""
        plain: set[str] = set()
        grouped: dict[str, set[str]] = {}
        for source, name, alias in self.external:
            bound = name if name == alias else f"{name} as {alias}"
            if source is None:
                plain.add(f"import {bound}")
            else:
                grouped.setdefault(source, set()).add(bound)
        froms = [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(grouped.items())]
        return "\n".join(sorted(plain) + froms)

    def uses_module(self, root: str) -> bool:
        """Whether an import line of the top-level package ``root`` is needed."""
        return any((src or mod).split(".")[0] == root for src, mod, _ in self.external)

    def require(self, source: str, name: str) -> None:
        """Import ``name`` from ``source`` under its own name (for the generated code)."""
        target = getattr(importlib.import_module(source), name)
        assert self._claim(name, target) == name, f"{name!r} is taken"
        self.external.add((source, name, name))

    def _module(self, name: str) -> _Module:
        if name not in self._parsed:
            self._parsed[name] = _parse(importlib.import_module(name))
        return self._parsed[name]

    def _resolve(self, module_name: str, name: str) -> str:
        """Make ``name``, as ``module_name`` sees it, available; return its name in the file."""
        key = (module_name, name)
        if key in self._names:
            return self._names[key]
        parsed = self._module(module_name)
        if name in parsed.imports:
            self._names[key] = self._resolve_import(parsed, name)
            return self._names[key]
        assert name in parsed.definitions, (
            f"{module_name}: {name!r} is neither defined nor imported"
        )
        self._names[key] = self._claim(name, key, suffix=module_name.rsplit(".", 1)[-1])
        node = parsed.definitions[name]
        used = _used_names(self._strip_decorators(parsed, node))
        renames = {name: self._names[key]}
        for local in sorted(used - {name}, key=parsed.line_of):
            if local in parsed.definitions or local in parsed.imports:
                renames[local] = self._resolve(module_name, local)
        # Dependencies first: their chunks were appended by the calls above.
        self.chunks.append(_renamed(self._segment(parsed, node), renames))
        return self._names[key]

    def _resolve_import(self, parsed: _Module, local: str) -> str:
        source, imported, level = parsed.imports[local]
        if level:
            package = parsed.module.__package__ or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            source = f"{base}.{source}" if source else base
        root = (source or imported).split(".")[0]
        if root == PROJECT_ROOT:
            assert source is not None, f"import {imported}: import project objects by name"
            return self._resolve(source, imported)
        if root not in ALLOWED_EXTERNAL:
            raise ValueError(
                f"cannot export {parsed.module.__name__}: it imports {root!r}, "
                "but the exported file may only import torch, torchvision and the standard library"
            )
        target = getattr(parsed.module, local)
        name = self._claim(local, target, suffix=None)
        self.external.add((source, imported, name))
        return name

    def _claim(self, name: str, owner: object, suffix: str | None = None) -> str:
        """``name``, or ``name_<suffix>`` when something else already holds it."""
        for candidate in (name, f"{name}_{suffix}" if suffix else None):
            if candidate is None or candidate in self.reserved:
                continue
            holder = self._owners.setdefault(candidate, owner)
            if holder is owner or holder == owner:
                return candidate
        raise ValueError(
            f"cannot export: two different objects are both named {name!r}; rename one of them"
        )

    def _strip_decorators(self, parsed: _Module, node: ast.stmt) -> ast.stmt:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kept = [d for d in node.decorator_list if not self._dropped(parsed, d)]
            if len(kept) != len(node.decorator_list):
                clone = ast.parse(ast.get_source_segment(parsed.text, node) or "").body[0]
                assert isinstance(clone, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                clone.decorator_list = kept
                return clone
        return node

    def _dropped(self, parsed: _Module, decorator: ast.expr) -> bool:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(func, ast.Name) and any(
            parsed.module.__dict__.get(func.id) is d for d in self.drop_decorators
        )

    def _segment(self, parsed: _Module, node: ast.stmt) -> str:
        """The statement's own source text, with only the kept decorators in front."""
        body = ast.get_source_segment(parsed.text, node, padded=True)
        assert body is not None
        decorators = []
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if not self._dropped(parsed, decorator):
                    decorators.append("@" + (ast.get_source_segment(parsed.text, decorator) or ""))
        return "\n".join([*decorators, body])


def _renamed(text: str, renames: dict[str, str]) -> str:
    """``text`` with identifiers renamed, never attributes (``.x``) or keywords (``x=``)."""
    renames = {old: new for old, new in renames.items() if old != new}
    if not renames:
        return text
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    depth = 0
    edits = []
    for index, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        if token.type != tokenize.NAME or token.string not in renames:
            continue
        before = tokens[index - 1].string if index else ""
        after = tokens[index + 1].string if index + 1 < len(tokens) else ""
        if before == "." or (depth and after == "="):
            continue
        edits.append((token.start, token.end, renames[token.string]))
    for (row, start), (_, end), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(lines)
