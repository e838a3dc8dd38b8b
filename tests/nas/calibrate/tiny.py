"""A tiny real calibration as a config file: 1 epoch of 200 real Fashion-MNIST images for the
proxy, 400 for the reference (``[confirm] scale = 2``), at width 0.25: about a second a run."""

from __future__ import annotations

from pathlib import Path

from tests.idx import fashion_mnist_dir
from tests.nas.searches import search_toml

STUDY = "tiny"
RUNS = 12
"""3 specs x 2 seeds x 2 budgets."""
ARGS = ["--specs", "3", "--resamples", "200"]


def tiny_config(tmp_path: Path) -> tuple[Path, str]:
    """``(config path, storage URL)`` of a tiny calibration under ``tmp_path``."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    proxy = {"epochs": 1, "train_samples": 200, "val_samples": 100}
    text = search_toml(
        data=fashion_mnist_dir(), search={"study": STUDY, "storage": url}, proxy=proxy,
        confirm=True,
    )  # fmt: skip
    path = tmp_path / "calibrate.toml"
    path.write_text(text + "[confirm]\nscale = 2.0\nval_samples = 200\n")
    return path, url
