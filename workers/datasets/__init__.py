"""On-disk dataset formats, one module each, bound by name in one registry.

A format knows where its files live, the image shape it yields without loading everything
(:meth:`DatasetSource.shape`), and how to read the *training* split (the test split is never
read: search decisions use a validation split carved from training data). Small formats return
:class:`ImageTensors` (held in memory and batched by indexing); large ones return a
``torch.utils.data.Dataset`` of ``(uint8 (C, H, W) tensor, label)`` pairs read by a DataLoader.
Every module of this package is imported here, so adding a format is one file plus its tests.

No module of this package imports torch (or numpy) at the top: a format's class is what the
registry holds, so listing and checking names (``nas --help``, config checks) costs no
framework import; :meth:`DatasetSource.load_train` and the helpers it calls import torch when
a split is actually read.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from searchspace.fields import Names
from searchspace.registry import Registry

if TYPE_CHECKING:
    from torch import Tensor
    from torch.utils.data import Dataset

__all__ = ["DATASETS", "FLAGS", "DatasetSource", "ImageTensors", "get_source", "register"]

FLAGS = Names("data", flags={"data_dir": "--data-dir"})
"""How a format's messages name ``data_dir`` unless told otherwise: as ``nas train``'s flag."""


@dataclass(frozen=True)
class ImageTensors:
    """A whole split in memory: ``images`` uint8 ``(N, C, H, W)``, ``labels`` int64 ``(N,)``."""

    images: Tensor
    labels: Tensor
    num_classes: int

    def __post_init__(self) -> None:
        import torch

        assert self.images.dtype == torch.uint8 and self.images.dim() == 4, self.images.shape
        assert self.labels.shape == (self.images.shape[0],), (self.labels.shape, self.images.shape)


class DatasetSource(ABC):
    """One on-disk format; registering it in :data:`DATASETS` sets :attr:`name`.

    Attributes:
        flip: whether a horizontal flip keeps the label (true for clothes and natural
            images; a format of digits or text would set it false).
        in_memory: whether :meth:`load_train` returns :class:`ImageTensors` (batched by
            indexing) rather than a ``Dataset`` (read by a DataLoader).
    """

    name: ClassVar[str]
    flip: ClassVar[bool] = True
    in_memory: ClassVar[bool] = True

    def __init__(self, data_dir: str | None, download: bool, names: Names = FLAGS) -> None:
        self.data_dir = data_dir
        self.download = download
        self.names = names

    @abstractmethod
    def shape(self) -> tuple[int, int, int]:
        """``(in_channels, input_size, num_classes)``, reading as little as possible."""

    @abstractmethod
    def load_train(self, size: int) -> ImageTensors | Dataset[tuple[Tensor, int]]:
        """The training split: in memory, or a dataset of uint8 ``(C, size, size)`` images.

        ``size`` is the side length training will use; formats that decode image files decode
        straight to it, in-memory formats return their native size (the caller resizes).
        """


def _name(name: str, cls: type[DatasetSource]) -> None:
    cls.name = name


DATASETS: Registry[type[DatasetSource]] = Registry("dataset", bind=_name)
"""Every format by ``[data] dataset`` name: ``@DATASETS.register("cifar10")`` on its class."""
register = DATASETS.register


def get_source(
    name: str, data_dir: str | None, download: bool, names: Names = FLAGS
) -> DatasetSource:
    """The source registered as ``name``; ``ValueError`` listing the known names otherwise."""
    return DATASETS.get(name)(data_dir, download, names)


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
