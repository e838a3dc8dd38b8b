"""``Registry``: named factories whose keyword-only parameters are the options a config may set.

One instance per kind of thing a search is built from (samplers in :mod:`nas.sampling`, pruners
in :mod:`nas.pruning`). ``@SAMPLERS.register("tpe")`` puts a factory in the registry (a duplicate
name raises); the registry is then the only list of names: the config validates against it, the
CLI and the docs list it, so a newly registered entry is accepted everywhere at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Factory = Callable[..., T]


class Registry(Generic[T]):
    """Factories ``factory(**options) -> T`` by name.

    Args:
        kind: what is registered, for messages (``"sampler"``).
        default: the name a search uses when the config names none (listed first).
        reserved: options the search itself passes (``seed``, ``max_resource``): every factory
            must accept them and a config may not set them.
    """

    def __init__(self, kind: str, *, default: str, reserved: tuple[str, ...] = ()) -> None:
        self.kind, self.default, self.reserved = kind, default, reserved
        self._factories: dict[str, Factory[T]] = {}

    def register(self, name: str) -> Callable[[Factory[T]], Factory[T]]:
        """Register ``factory`` under ``name``; its parameters must be keyword-only."""

        def decorator(factory: Factory[T]) -> Factory[T]:
            if name in self._factories:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            parameters = inspect.signature(factory).parameters.values()
            positional = [p.name for p in parameters if p.kind is not p.KEYWORD_ONLY]
            assert not positional, f"{self.kind} {name!r} takes non-keyword-only {positional}"
            missing = set(self.reserved) - {p.name for p in parameters}
            assert not missing, f"{self.kind} {name!r} does not accept {sorted(missing)}"
            self._factories[name] = factory
            return factory

        return decorator

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins and tests that register temporarily)."""
        self._factories.pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Registered names, the default first, then alphabetical."""
        return tuple(sorted(self._factories, key=lambda n: (n != self.default, n)))

    def options(self, name: str) -> dict[str, Any]:
        """The options a config may give ``name``, with defaults (reserved ones left out)."""
        parameters = inspect.signature(self._factory(name)).parameters.values()
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

    def make(self, name: str, **options: Any) -> T:
        """Build ``name`` with ``options`` (reserved ones included).

        Raises:
            ValueError: unknown name, unknown option, or a value the factory refuses.
        """
        factory = self._factory(name)
        accepted = inspect.signature(factory).parameters
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            allowed = ", ".join(self.options(name)) or "none"
            raise ValueError(
                f"{self.kind} {name!r} has no option {unknown[0]!r}; accepted: {allowed}"
            )
        try:
            return factory(**options)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.kind} {name!r}: {exc}") from None

    def _factory(self, name: str) -> Factory[T]:
        if name not in self._factories:
            raise ValueError(
                f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}"
            )
        return self._factories[name]
