"""A small real search as a config file, for the tests that run ``nas search`` as a user does.

Three blocks at two positions, a proxy of 300 training images at width 0.25 on the real
Fashion-MNIST (:func:`tests.idx.fashion_mnist_dir`): a few seconds a trial on one CPU.
"""

from __future__ import annotations

from pathlib import Path

from tests.idx import fashion_mnist_dir

SMALL_SEARCH = """
[search]
study = "{study}"
[space]
width = 0.5
blocks = ["none", "se", "eca"]
positions = ["branch", "stage_end"]
[data]
data_dir = "{data}"
download = false
[proxy]
epochs = 3
train_samples = 300
val_samples = 100
width = 0.25
batch_size = 50
augment = false
"""


def small_search(tmp_path: Path, study: str) -> Path:
    """Write :data:`SMALL_SEARCH` for ``study`` to ``tmp_path/search.toml``; returns its path."""
    path = tmp_path / "search.toml"
    path.write_text(SMALL_SEARCH.format(study=study, data=fashion_mnist_dir()))
    return path
