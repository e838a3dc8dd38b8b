"""CIFAR-10 and CIFAR-100 from torchvision's on-disk python pickle batches.

Krizhevsky: "Learning Multiple Layers of Features from Tiny Images", 2009,
https://www.cs.toronto.edu/~kriz/cifar.html. 50,000 training images, 32x32 RGB. The pickles
hold ``b"data"`` as ``(N, 3072)`` uint8 rows (1024 red, 1024 green, 1024 blue, each row-major)
and ``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` (CIFAR-100). Only the training batches are
read. Natural images: horizontal flip keeps the class.
"""

from __future__ import annotations

import contextlib
import pickle
import sys
from pathlib import Path
from typing import Any, ClassVar

from workers.datasets import DatasetSource, ImageTensors, register

CACHE_DIR = Path.home() / ".cache" / "attention-nas"


class _Cifar(DatasetSource):
    """Shared reader; subclasses name the folder, the training files and the label key."""

    folder: ClassVar[str]
    train_files: ClassVar[tuple[str, ...]]
    label_key: ClassVar[bytes]
    num_classes: ClassVar[int]
    flip = True

    def shape(self) -> tuple[int, int, int]:
        self._folder()
        return 3, 32, self.num_classes

    def load_train(self, size: int) -> ImageTensors:
        import numpy as np
        import torch

        folder = self._folder()
        rows: list[np.ndarray] = []
        labels: list[int] = []
        for name in self.train_files:
            batch = _unpickle(folder / name)
            if b"data" not in batch or self.label_key not in batch:
                raise ValueError(
                    f"{folder / name}: missing b'data' or {self.label_key!r}; "
                    f"is this a {self.name} batch file?"
                )
            rows.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(int(v) for v in batch[self.label_key])
        images = torch.from_numpy(np.concatenate(rows))
        targets = torch.tensor(labels, dtype=torch.long)
        if targets.numel() and int(targets.max()) >= self.num_classes:
            raise ValueError(f"{folder}: label {int(targets.max())} >= {self.num_classes}")
        return ImageTensors(images, targets, self.num_classes)

    def _folder(self) -> Path:
        root = Path(self.data_dir) if self.data_dir else CACHE_DIR
        for folder in (root, root / self.folder):
            if all((folder / name).is_file() for name in self.train_files):
                return folder
        if self.download:
            self._download(root)
            if all((root / self.folder / name).is_file() for name in self.train_files):
                return root / self.folder
        raise ValueError(
            f"{self.name}: training batches {', '.join(self.train_files)} not found in {root} "
            f"or {root / self.folder}; pass {self.names.written('data_dir')} pointing at "
            f"torchvision's {self.folder}/ folder (or its parent)"
        )

    def _download(self, root: Path) -> None:
        import torchvision.datasets

        cls = getattr(torchvision.datasets, self.name.upper())
        with contextlib.suppress(OSError, RuntimeError), contextlib.redirect_stdout(sys.stderr):
            cls(str(root), train=True, download=True)


def _unpickle(path: Path) -> dict[bytes, Any]:
    with path.open("rb") as f:
        try:
            data = pickle.load(f, encoding="bytes")
        except (pickle.UnpicklingError, EOFError) as exc:
            raise ValueError(f"{path}: not a CIFAR pickle batch ({exc}); re-download") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(data).__name__}")
    return data


@register("cifar10")
class Cifar10(_Cifar):
    folder = "cifar-10-batches-py"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    label_key = b"labels"
    num_classes = 10


@register("cifar100")
class Cifar100(_Cifar):
    folder = "cifar-100-python"
    train_files = ("train",)
    label_key = b"fine_labels"
    num_classes = 100
