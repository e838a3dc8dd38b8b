"""``Registry``: the one type every named, pluggable thing of the project is looked up in.

Samplers, pruners and objectives (:mod:`nas.plugins`), ranking signals
(:data:`workers.signals.SIGNALS`), optimizers (:data:`workers.optimizers.OPTIMIZERS`), dataset
formats (:data:`workers.datasets.DATASETS`), block declarations and block implementations
(:mod:`searchspace.catalog`, :mod:`searchspace.blocks`) are each one ``Registry``. Adding one
is one registration, ``@REGISTRY.register("name")`` on a function or class, or
``REGISTRY.add("name", entry)`` for a value; the registry is then the only list of names: the
config validates against it and the CLI and the docs list it, so a new entry is accepted
everywhere at once. It lives here, in the lowest layer that has a registry, so that
``workers`` and ``searchspace`` use it without importing ``nas``.

Every registry refuses a second entry of one name and answers an unknown name with a
``ValueError`` naming the registered ones. A registry of *factories* (samplers, pruners) also
reads each factory's keyword-only parameters as the options a config may set
(:meth:`Registry.options`, :meth:`Registry.check_options`, :meth:`Registry.make`).

A registry may name the module whose import registers its entries (``fill``): it is imported
on the registry's first use, not with the registry, so that a module that only needs a default
name or the registry itself (``nas.config``, ``nas --help``) imports no catalog.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

E = TypeVar("E")
R = TypeVar("R")


class Registry(Generic[E]):
    """Entries of one kind by name.

    Args:
        kind: what is registered, for messages (``"sampler"``).
        default: the name used when a config names none; listed first.
        reserved: options the caller itself passes to a factory (``seed``): every factory must
            accept them and a config may not set them.
        bind: called as ``bind(name, entry)`` before an entry is added: raises (or asserts)
            when the entry breaks the kind's contract (a block's constructor, say), and may
            record the name on it (a dataset class's ``name``).
        sort: list names alphabetically (after the default) rather than in registration order.
        factories: entries are factories whose keyword-only parameters are their options
            (checked on registration: no positional parameter, every reserved one accepted).
        fill: the module that registers the entries (``"nas.sampling.catalog"``), imported
            the first time the registry is read or added to; a plug-in's own registration
            then meets the built-in names, so a duplicate raises there, as it would eagerly.
    """

    def __init__(
        self,
        kind: str,
        *,
        default: str | None = None,
        reserved: tuple[str, ...] = (),
        bind: Callable[[str, E], None] | None = None,
        sort: bool = True,
        factories: bool = False,
        fill: str | None = None,
    ) -> None:
        self.kind, self.default, self.reserved = kind, default, reserved
        self._bind, self._sort, self._factories = bind, sort, factories
        self._fill = fill
        self._by_name: dict[str, E] = {}

    @property
    def _entries(self) -> dict[str, E]:
        """The entries, after ``fill`` has been imported (once)."""
        if self._fill is not None:
            module, self._fill = self._fill, None  # its own registrations come back here
            importlib.import_module(module)
        return self._by_name

    def add(self, name: str, entry: E) -> E:
        """Register ``entry`` as ``name``; ``ValueError`` when ``name`` is already taken."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if self._bind is not None:
            self._bind(name, entry)
        if self._factories:
            _check_factory(self.kind, name, entry, self.reserved)
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[E], E]:
        """Decorator form of :meth:`add` for a function or class."""
        return lambda entry: self.add(name, entry)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins and tests that register temporarily)."""
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Registered names, the default first, then alphabetical (or as registered)."""
        rest = sorted(self._entries) if self._sort else list(self._entries)
        return tuple(sorted(rest, key=lambda n: n != self.default))

    def get(self, name: str) -> E:
        """The entry ``name``; ``ValueError`` naming the registered ones otherwise."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {self.listed()}")
        return self._entries[name]

    def listed(self) -> str:
        """``"a, b, c"``: the names as messages and ``--help`` show them."""
        return ", ".join(self.names())

    def items(self) -> list[tuple[str, E]]:
        return [(name, self._entries[name]) for name in self.names()]

    def values(self) -> list[E]:
        return [self._entries[name] for name in self.names()]

    def __getitem__(self, name: str) -> E:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    # A registry of factories: their keyword-only parameters are the options.

    def options(self, name: str) -> dict[str, Any]:
        """The options a config may give ``name``, with defaults (reserved ones left out)."""
        parameters = inspect.signature(self.get(name)).parameters.values()  # type: ignore[arg-type]
        return {p.name: p.default for p in parameters if p.name not in self.reserved}

    def check_options(self, name: str, options: dict[str, Any], *, where: str) -> None:
        """Raise ``ValueError`` naming ``where.<key>`` for an option ``name`` does not take."""
        accepted = self.options(name)
        for key in options:
            if key in self.reserved:
                raise ValueError(f"{where}.{key}: set by the search itself, not in [{where}]")
            if key not in accepted:
                allowed = ", ".join(accepted) or "none"
                raise ValueError(
                    f"{where}.{key}: unknown key for {self.kind} {name!r}; allowed: {allowed}"
                )

    def make(self: Registry[Callable[..., R]], name: str, **options: Any) -> R:
        """Build ``name`` with ``options`` (reserved ones included).

        Raises:
            ValueError: unknown name, unknown option, or a value the factory refuses.
        """
        factory = self.get(name)
        unknown = sorted(set(options) - set(inspect.signature(factory).parameters))
        if unknown:
            allowed = ", ".join(self.options(name)) or "none"
            raise ValueError(
                f"{self.kind} {name!r} has no option {unknown[0]!r}; accepted: {allowed}"
            )
        try:
            return factory(**options)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.kind} {name!r}: {exc}") from None


def _check_factory(kind: str, name: str, factory: Any, reserved: tuple[str, ...]) -> None:
    """A factory's parameters are keyword-only and include every reserved one."""
    parameters = inspect.signature(factory).parameters.values()
    positional = [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY]
    assert not positional, f"{kind} {name!r} takes non-keyword-only {positional}"
    missing = set(reserved) - {p.name for p in parameters}
    assert not missing, f"{kind} {name!r} does not accept {sorted(missing)}"
