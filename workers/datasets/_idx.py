"""The IDX file format of MNIST-style datasets (LeCun et al., http://yann.lecun.com/exdb/mnist/).

A big-endian header: two zero bytes, a type code (``0x08`` = unsigned byte), the number of
dimensions ``d``, then ``d`` 32-bit sizes; the data follows in C order. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

UBYTE = 0x08


def _open(path: Path) -> gzip.GzipFile | object:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def read_idx_header(path: Path) -> tuple[int, ...]:
    """The dimensions stored in the header of ``path`` (reads a few bytes only)."""
    with _open(path) as f:  # type: ignore[attr-defined]
        head = f.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise ValueError(f"{path}: not an IDX file (bad magic number); re-download it")
        if head[2] != UBYTE:
            raise ValueError(f"{path}: IDX type 0x{head[2]:02x} is not unsigned bytes (0x08)")
        ndim = head[3]
        raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"{path}: IDX header is truncated; re-download the file")
    return tuple(struct.unpack(f">{ndim}I", raw))


def read_idx(path: Path) -> Tensor:
    """The whole array in ``path`` as a uint8 tensor of the header's shape."""
    import numpy as np
    import torch

    dims = read_idx_header(path)
    with _open(path) as f:  # type: ignore[attr-defined]
        data = f.read()
    offset = 4 + 4 * len(dims)
    expected = int(np.prod(dims)) if dims else 0
    if len(data) - offset != expected:
        raise ValueError(
            f"{path}: expected {expected} data bytes for shape {dims}, found "
            f"{len(data) - offset}; the file is truncated or corrupt, re-download it"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)
    return torch.from_numpy(array.copy())
