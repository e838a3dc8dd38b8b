"""Which data a proxy trains on: ``[data]`` checked, and whether its files can be read.

The split itself (tensors, batches) is :mod:`workers.splits`; this module imports no torch, so
a config check or ``nas --help`` that names the default dataset stays free of it. Formats live
in :mod:`workers.datasets`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

from searchspace.fields import Names, flag, integer, number, reject_unknown
from workers.datasets import DATASETS, FLAGS, DatasetSource, get_source

DATA = Names("data")
"""How a search config and a trial config name the fields: ``data.dataset``."""


@dataclass(frozen=True)
class DataConfig:
    """The dataset and its split.

    Attributes:
        dataset: a registered format: ``fashion_mnist``, ``cifar10``, ``cifar100``,
            ``imagefolder``.
        data_dir: where its files are (``None``: the format's own search path).
        val_fraction: share of the training data held out for validation.
        split_seed: seeds the split (independent of the training seed, so every trial of a
            search validates on the same images).
        download: let torchvision download missing Fashion-MNIST/CIFAR files.
    """

    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    val_fraction: float = 0.1
    split_seed: int = 0
    download: bool = True

    def __post_init__(self) -> None:
        _validate(asdict(self), DATA)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], names: Names = DATA) -> DataConfig:
        """Validate ``data`` (omitted fields take defaults); ``ValueError`` names the field as
        ``names`` says the user wrote it (``data.dataset`` in a config, ``--dataset``)."""
        reject_unknown(names.section, data, tuple(f.name for f in fields(cls)))
        _validate({**{f.name: f.default for f in fields(cls)}, **data}, names)
        return cls(**dict(data))

    def source(self, names: Names = FLAGS) -> DatasetSource:
        """The dataset's files; ``names`` says how its messages tell the user to set
        ``data_dir`` (``--data-dir`` by default, ``[data] data_dir`` for a config file)."""
        return get_source(self.dataset, self.data_dir, self.download, names)


def _validate(d: Mapping[str, Any], n: Names) -> None:
    if d["dataset"] not in DATASETS:
        allowed = ", ".join(DATASETS.names())
        raise ValueError(f"{n('dataset')}: unknown {d['dataset']!r}; allowed: {allowed}")
    if d["data_dir"] is not None and not isinstance(d["data_dir"], str):
        raise ValueError(f"{n('data_dir')}: expected a path string, got {d['data_dir']!r}")
    number(n("val_fraction"), d["val_fraction"], high=0.9, open_low=True)
    integer(n("split_seed"), d["split_seed"], minimum=0)
    flag(n("download"), d["download"])


def dataset_shape(cfg: DataConfig) -> tuple[int, int, int]:
    """``(in_channels, input_size, num_classes)`` of ``cfg``'s images, from headers only."""
    with readable(cfg.dataset, cfg.data_dir):
        return cfg.source().shape()


def check_readable(cfg: DataConfig, names: Names = FLAGS) -> None:
    """Read ``cfg``'s whole training split once (in-memory formats; a folder is checked by its
    first image), so a corrupt or truncated file is one error before any training starts."""
    source = cfg.source(names)
    with readable(cfg.dataset, cfg.data_dir):
        source.shape()
        if source.in_memory:
            source.load_train(0)


@contextmanager
def readable(dataset: str, data_dir: str | None) -> Iterator[None]:
    """Turn a file that cannot be read or decompressed (a ``.gz`` that is not gzip, or is cut
    short) into one ``ValueError`` naming the dataset and its folder."""
    try:
        yield
    except (OSError, EOFError, zlib.error) as exc:
        where = data_dir or "its default folder"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(
            f"data: cannot read {dataset} in {where} ({type(exc).__name__}: {detail}); a file "
            "is corrupt or truncated: replace it (re-download) or point data_dir elsewhere"
        ) from None
