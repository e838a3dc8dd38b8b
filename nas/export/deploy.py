"""What ``nas export`` checks after writing a module: TorchScript always, ONNX when asked.

The written file itself is imported and built (with the exported weights when there are any),
so what is checked is exactly what the user got. A model that does not script is a note, not an
error (the ``.py`` file is still the deliverable); an ``--onnx`` the user asked for that cannot
be written is a ``ValueError``. Either names the block responsible, found by converting each
block the spec uses on its own, and the converter's reason, in one line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from nas.export.formats import torchscript, write_onnx
from searchspace.catalog import block_info
from searchspace.spec import ArchSpec


def load(path: Path) -> ModuleType:
    """Import the exported file at ``path`` under a private name."""
    spec = importlib.util.spec_from_file_location(f"_nas_export_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_input(spec: ArchSpec, batch: int = 2) -> Tensor:
    """A random ``(batch, in_channels, input_size, input_size)`` input, seeded."""
    shape = (batch, spec.in_channels, spec.input_size, spec.input_size)
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def check_formats(
    output: Path, spec: ArchSpec, weights: Path | None, onnx: Path | None
) -> Iterator[str]:
    """Lines to print as they come: the TorchScript verdict, then with ``onnx`` the file."""
    module = load(output)
    model = module.build_model().eval()
    if weights is not None:
        model.load_state_dict(torch.load(weights, weights_only=True), strict=True)
    x = example_input(spec)
    try:
        torchscript(model, x)
        yield "TorchScript: torch.jit.script(build_model()) compiles and matches eager"
    except ValueError as exc:
        yield f"note: {blame(module, spec, exc, lambda b, i: torchscript(b, i))}"
    if onnx is not None:
        try:
            written = write_onnx(model, x, onnx)
        except ValueError as exc:
            why = blame(module, spec, exc, lambda b, i: _onnx_probe(b, i, onnx))
            raise ValueError(f"{why}; {output} is written, {onnx} is not") from None
        files = "one file" if written.data is None else f"weights in {written.data.name} beside it"
        dynamic = "dynamic batch and image size" if written.spatial else "dynamic batch"
        agrees = f"ONNX Runtime matches PyTorch within {written.error:.1g}"
        yield f"wrote {onnx} ({files}, {dynamic}; {agrees})"
        if written.data is not None:
            yield f"note: over ONNX's 2 GB limit: copy {written.data.name} with {onnx.name}"


def _onnx_probe(block: nn.Module, x: Tensor, onnx: Path) -> None:
    probe = onnx.with_name(f".{onnx.stem}.probe.onnx")
    try:
        write_onnx(block, x, probe)
    finally:
        probe.unlink(missing_ok=True)


def blame(
    module: ModuleType, spec: ArchSpec, exc: ValueError, convert: Callable[[nn.Module, Tensor], Any]
) -> str:
    """``exc``'s line with the first block of ``spec`` that fails ``convert`` alone named."""
    for name in sorted({s.block for s in spec.stages} - {"none"}):
        stride = {"stride": 2} if "replace" in block_info(name).positions else {}
        channels = _channels(module, name)
        for kwargs in ({}, stride) if stride else ({},):
            block = module.create_block(name, channels, **kwargs).eval()
            try:
                convert(block, torch.randn(2, channels, 8, 8))
            except ValueError as alone:
                return f"block {name!r}: {alone}"
    return str(exc)


def _channels(module: ModuleType, name: str) -> int:
    """Channels that ``name``'s default parameters accept (some need a multiple of heads)."""
    for channels in (16, 32, 64, 128):
        try:
            module.create_block(name, channels)
            return channels
        except (ValueError, AssertionError):
            continue
    return 64
