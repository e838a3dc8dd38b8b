"""What ``nas export`` cannot convert, per format and block: the table of docs/export.md,
held by tests/nas/test_export_formats.py and read by test_export_equivalence.py."""

from __future__ import annotations

LIMITS: dict[str, dict[str, str]] = {
    "torchscript": {},
    "onnx": {
        "condconv": "aten.conv2d",
    },
}
"""Format -> block -> a phrase of the one-line reason. TorchScript: none, every block scripts.
ONNX (the dynamo exporter, dynamic batch): ``condconv`` convolves each sample with its own
computed kernel as one grouped convolution with the batch size as ``group``, which ONNX's
``Conv`` needs constant."""

FIXED_SIZE = {"fca", "gather_excite", "psa", "stn"}
"""Blocks whose ONNX export has a dynamic batch but a fixed height and width: exported with
dynamic ones, ONNX Runtime at twice the size differs from PyTorch (``fca``, ``gather_excite``:
adaptive pooling to a fixed grid is exported with the window of the example's size) or fails
(``stn``: the same pooling, then a linear layer; ``psa``: its offset index), so ``write_onnx``
exports them again with only the batch dynamic. Every other block that converts takes any
batch and twice the image size, checked."""
