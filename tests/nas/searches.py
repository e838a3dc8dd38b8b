"""A small real search as a config file, for the tests that run ``nas search`` as a user does.

Three blocks at two positions, a proxy of 300 training images at width 0.25 on the real
Fashion-MNIST (:func:`tests.idx.fashion_mnist_dir`): a few seconds a trial on one CPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.idx import fashion_mnist_dir

SPACE = {"width": 0.5, "blocks": ["none", "se", "eca"], "positions": ["branch", "stage_end"]}
"""The three-block space of every small search (at width 0.5)."""
RANDOM = {"seed": 0, "sampler": "random", "pruner": "none"}
"""A seeded random search without pruning: the same trials on every run."""
PROXY = {"width": 0.25, "batch_size": 50, "augment": False}
"""What every small search's proxy shares; each test adds its epochs and images."""


def search_toml(
    *,
    data: Path | str,
    search: dict[str, Any],
    proxy: dict[str, Any],
    space: dict[str, Any] | None = None,
    confirm: bool = False,
) -> str:
    """A small search config as TOML text: :data:`SPACE` and :data:`PROXY` updated by
    ``space``/``proxy``, ``[data]`` at ``data`` (never downloaded), confirmation off unless
    ``confirm``. Values are written as JSON, which is TOML for strings, numbers, booleans and
    lists."""
    sections: dict[str, dict[str, Any]] = {
        "search": search,
        "space": {**SPACE, **(space or {})},
        "data": {"data_dir": str(data), "download": False},
        "proxy": {**PROXY, **proxy},
    }
    if not confirm:
        sections["confirm"] = {"after_search": False}
    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
        for name, keys in sections.items()
    )


def small_search(tmp_path: Path, study: str) -> Path:
    """Write a 3-epoch search of 300 images for ``study`` to ``tmp_path/search.toml``
    (confirmation on, as by default); returns its path."""
    path = tmp_path / "search.toml"
    proxy = {"epochs": 3, "train_samples": 300, "val_samples": 100}
    text = search_toml(data=fashion_mnist_dir(), search={"study": study}, proxy=proxy, confirm=True)
    path.write_text(text)
    return path
