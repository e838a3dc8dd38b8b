"""Fashion-MNIST: 60,000 training images of clothes, 28x28 grey, 10 classes.

Xiao, Rasul, Vollgraf: "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine
Learning Algorithms", 2017, https://arxiv.org/abs/1708.07747. Read from the IDX files (gzipped
or not) in ``data_dir`` if given, else ``$NAS_DATA_DIR``, the Debian package's folder, or
torchvision's download; a horizontal flip keeps the class (a mirrored shirt is a shirt).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from workers.datasets import DatasetSource, ImageTensors, register
from workers.datasets._idx import read_idx, read_idx_header

ENV_VAR = "NAS_DATA_DIR"
SYSTEM_DIRS: list[str] = ["/usr/share/datasets/fashion-mnist"]
"""Where distribution packages put the files (Debian's ``dataset-fashion-mnist``)."""
CACHE_DIR = Path.home() / ".cache" / "attention-nas"
IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
NUM_CLASSES = 10


@register("fashion_mnist")
class FashionMNIST(DatasetSource):
    """Fashion-MNIST's training split from IDX files (``train-images-idx3-ubyte[.gz]``)."""

    flip = True

    def shape(self) -> tuple[int, int, int]:
        images, _ = self._files()
        dims = read_idx_header(images)
        if len(dims) != 3:
            raise ValueError(f"{images}: expected 3 dimensions (N, H, W), found {len(dims)}")
        return 1, dims[1], NUM_CLASSES

    def load_train(self, size: int) -> ImageTensors:
        images_path, labels_path = self._files()
        images = read_idx(images_path)
        labels = read_idx(labels_path).long()
        if images.dim() != 3 or labels.shape != (images.shape[0],):
            raise ValueError(
                f"{images_path.parent}: images {tuple(images.shape)} and labels "
                f"{tuple(labels.shape)} do not match; re-download the files"
            )
        if labels.numel() and int(labels.max()) >= NUM_CLASSES:
            raise ValueError(f"{labels_path}: label {int(labels.max())} is not in 0..9")
        return ImageTensors(images.unsqueeze(1), labels, NUM_CLASSES)

    def _files(self) -> tuple[Path, Path]:
        for folder in self._candidates():
            found = _find_pair(folder)
            if found:
                return found
        if self.download:
            found = self._download()
            if found:
                return found
        raise ValueError(
            f"fashion_mnist: IDX files not found; {self.names.set_to('data_dir', 'DIR')} (holding "
            f"{IMAGES}.gz), set {ENV_VAR}=DIR, or 'apt-get install dataset-fashion-mnist' "
            f"(torchvision's download into {self._download_root()} also failed or is off)"
        )

    def _candidates(self) -> list[Path]:
        """An explicit ``data_dir`` is the only place looked at; else env, system, cache."""
        roots = (
            [self.data_dir]
            if self.data_dir
            else [os.environ.get(ENV_VAR), *SYSTEM_DIRS, str(CACHE_DIR)]
        )
        folders = []
        for root in roots:
            if root:
                folders += [Path(root), Path(root) / "FashionMNIST" / "raw"]
        return folders

    def _download_root(self) -> Path:
        return Path(self.data_dir) if self.data_dir else CACHE_DIR

    def _download(self) -> tuple[Path, Path] | None:
        from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

        root = self._download_root()
        try:
            with contextlib.redirect_stdout(sys.stderr):  # keep stdout for --json
                TorchvisionFashionMNIST(str(root), train=True, download=True)
        except (OSError, RuntimeError):
            return None
        return _find_pair(root / "FashionMNIST" / "raw")


def _find_pair(folder: Path) -> tuple[Path, Path] | None:
    """The images and labels files in ``folder``, raw preferred over gzipped."""
    for suffix in ("", ".gz"):
        images, labels = folder / (IMAGES + suffix), folder / (LABELS + suffix)
        if images.is_file() and labels.is_file():
            return images, labels
    return None
