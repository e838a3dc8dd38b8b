"""Any ImageFolder tree: ``ROOT/<class>/<image>``, classes sorted by folder name.

The torchvision convention (``torchvision.datasets.ImageFolder``). When ``ROOT/train`` exists
it is the training split and ``ROOT`` itself is ignored, so a tree with ``train/`` and ``val/``
(ImageNet's layout) works unchanged; the validation split for search is still carved from
``train/``. Images are decoded as RGB, resized on the shorter side and centre-cropped to the
training size by DataLoader workers; random crop and flip happen later on the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workers.datasets import DatasetSource, register

if TYPE_CHECKING:
    from torch import Tensor
    from torch.utils.data import Dataset

MAX_NATIVE_SIZE = 224
"""Cap on the native size (the first image's shorter side) so a proxy never trains at 4K."""


@register("imagefolder")
class ImageFolder(DatasetSource):
    """An ImageFolder tree under ``data_dir`` (or ``data_dir/train``)."""

    flip = True
    in_memory = False

    def shape(self) -> tuple[int, int, int]:
        from PIL import Image

        root = self._root()
        classes = _class_dirs(root)
        first = next((f for c in classes for f in sorted(c.iterdir()) if f.is_file()), None)
        if first is None:
            raise ValueError(f"imagefolder: no image files under {root}/<class>/")
        with Image.open(first) as image:
            side = min(image.size)
        return 3, min(side, MAX_NATIVE_SIZE), len(classes)

    def load_train(self, size: int) -> Dataset[tuple[Tensor, int]]:
        from torchvision import datasets, transforms

        root = self._root()
        _class_dirs(root)
        transform = transforms.Compose(
            [transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()]
        )
        return datasets.ImageFolder(str(root), transform=transform)

    def _root(self) -> Path:
        if not self.data_dir:
            setting = self.names.set_to("data_dir", "DIR")
            raise ValueError(f"imagefolder: {setting} holding DIR/<class>/<image> files")
        root = Path(self.data_dir)
        if (root / "train").is_dir():
            root = root / "train"
        if not root.is_dir():
            where = self.names.written("data_dir")
            raise ValueError(f"imagefolder: {root} is not a directory; check {where}")
        return root


def _class_dirs(root: Path) -> list[Path]:
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(
            f"imagefolder: {root} has {len(classes)} class folder(s); "
            "expected ROOT/<class>/<image> with at least two classes"
        )
    return classes
