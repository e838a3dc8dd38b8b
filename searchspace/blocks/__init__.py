"""The block registry: torch implementations bound by name to their catalog declarations.

Every block has one constructor shape, ``Block(channels, *, <declared params>)``; blocks that
may ``replace`` the 3x3 conv also take ``stride``. :func:`register` (into :data:`BLOCKS`)
checks that the keyword-only parameters are exactly the declared ones, so the search space
(derived from the catalog) and the code can never disagree. Every module of this package is
imported here, so adding a block is one file plus its tests.

Each block's paper is cited once, in its declaration (``BlockInfo.paper``); the block's module
opens with the paper's link and names that declaration: ``Paper: <link> (citation: ...)``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from torch import nn

from searchspace.catalog import BlockInfo, Choice, block_info
from searchspace.registry import Registry

__all__ = ["BLOCKS", "create_block", "get_block_class", "register", "registered_blocks"]


def _bind(name: str, cls: type[nn.Module]) -> None:
    """``cls`` implements the declaration ``name``: its constructor takes the declared params."""
    _check_signature(cls, block_info(name))
    cls.block_name = name  # type: ignore[attr-defined]


BLOCKS: Registry[type[nn.Module]] = Registry("block", default="none", bind=_bind)
"""Every implemented block by name, ``none`` first, then alphabetical."""
register = BLOCKS.register
"""Class decorator binding an ``nn.Module`` to the catalog declaration ``name``."""


def _check_signature(cls: type[nn.Module], info: BlockInfo) -> None:
    sig = inspect.signature(cls.__init__)
    params = list(sig.parameters.values())[1:]
    assert params and params[0].name == "channels", f"{cls.__name__}: first arg must be channels"
    keyword = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    expected = set(info.param_index) | ({"stride"} if "replace" in info.positions else set())
    assert keyword == expected, f"{cls.__name__}: keyword-only {keyword} != declared {expected}"
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params), (
        f"{cls.__name__} swallows unknown kwargs"
    )


def get_block_class(name: str) -> type[nn.Module]:
    """The class registered as ``name``."""
    block_info(name)
    if name not in BLOCKS:
        raise ValueError(f"block {name!r} is declared but has no implementation")
    return BLOCKS[name]


def registered_blocks() -> dict[str, type[nn.Module]]:
    """All registered blocks, ``none`` first, then alphabetical."""
    return dict(BLOCKS.items())


def create_block(name: str, channels: int, *, stride: int = 1, **params: Choice) -> nn.Module:
    """Build block ``name`` for ``channels`` channels with ``params`` (defaults filled in).

    ``stride`` is only passed to blocks that replace the 3x3 conv.
    """
    info = block_info(name)
    unknown = sorted(set(params) - set(info.param_index))
    if unknown:
        raise ValueError(f"{name}: unknown parameter {unknown[0]!r}")
    kwargs: dict[str, Any] = {**info.defaults, **params}
    if "replace" in info.positions:
        kwargs["stride"] = stride
    else:
        assert stride == 1, f"{name} cannot stride"
    return get_block_class(name)(channels, **kwargs)


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
