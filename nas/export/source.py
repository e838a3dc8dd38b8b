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
import sys
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
    ``register``). ``reserved`` names belong to the generated code and may not be reused.
    """

    drop_decorators: tuple[object, ...] = ()
    reserved: frozenset[str] = frozenset()
    chunks: list[str] = field(default_factory=list)
    external: set[tuple[str | None, str, str]] = field(default_factory=set)
    _emitted: dict[str, tuple[str, str]] = field(default_factory=dict)
    _parsed: dict[str, _Module] = field(default_factory=dict)
    _visiting: set[tuple[str, str]] = field(default_factory=set)

    def add(self, obj: type | object, name: str | None = None) -> str:
        """Copy ``obj`` (a project class or function) and its dependencies; return its name."""
        module_name = obj.__module__  # type: ignore[union-attr]
        local = name or obj.__name__  # type: ignore[union-attr]
        self._resolve(module_name, local)
        return local

    def imports_text(self) -> str:
        """The import lines the copied code needs, sorted as isort would."""
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

    def _module(self, name: str) -> _Module:
        if name not in self._parsed:
            self._parsed[name] = _parse(importlib.import_module(name))
        return self._parsed[name]

    def _resolve(self, module_name: str, name: str) -> None:
        """Make ``name``, as ``module_name`` sees it, available in the exported file."""
        key = (module_name, name)
        if key in self._visiting or self._emitted.get(name) == key:
            return
        parsed = self._module(module_name)
        if name in parsed.definitions:
            self._claim(name, key)
            self._visiting.add(key)
            node = parsed.definitions[name]
            for used in sorted(
                _used_names(self._strip_decorators(parsed, node)) - {name}, key=parsed.line_of
            ):
                self._resolve_reference(parsed, used)
            self.chunks.append(self._segment(parsed, node))
            self._visiting.discard(key)
        elif name in parsed.imports:
            self._resolve_import(parsed, name)
        else:
            raise AssertionError(f"{module_name}: {name!r} is neither defined nor imported")

    def _resolve_reference(self, parsed: _Module, used: str) -> None:
        # Names bound neither at top level nor by an import are locals, parameters or builtins.
        if used in parsed.definitions or used in parsed.imports:
            self._resolve(parsed.module.__name__, used)

    def _resolve_import(self, parsed: _Module, local: str) -> None:
        source, imported, level = parsed.imports[local]
        if level:
            package = parsed.module.__package__ or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            source = f"{base}.{source}" if source else base
        root = (source or imported).split(".")[0]
        if root == PROJECT_ROOT:
            assert source is not None, f"import {imported}: import project objects by name"
            if getattr(parsed.module, local) in self.drop_decorators:
                return
            self._resolve(source, imported)
            if imported != local:
                self._claim(local, (parsed.module.__name__, local))
                self.chunks.append(f"{local} = {imported}")
            return
        if root not in ALLOWED_EXTERNAL:
            raise ValueError(
                f"cannot export {parsed.module.__name__}: it imports {root!r}, "
                "but the exported file may only import torch, torchvision and the standard library"
            )
        self._claim(local, ("<import>", f"{source}:{imported}"))
        self.external.add((source, imported, local))

    def _claim(self, name: str, key: tuple[str, str]) -> None:
        owner = self._emitted.setdefault(name, key)
        if owner != key or name in self.reserved:
            raise ValueError(
                f"cannot export: {key[0]}.{key[1]} and {owner[0]}.{owner[1]} would both be "
                f"named {name!r} in one file; rename one of them"
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
