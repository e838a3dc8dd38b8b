"""What ``nas export`` cannot convert, per format and block: the table of docs/export.md,
held by tests/nas/test_export_formats.py and read by test_export_equivalence.py."""

from __future__ import annotations

LIMITS: dict[str, dict[str, str]] = {
    "torchscript": {
        "asym_nonlocal": "TorchScript",
        "deform": "TorchScript",
        "fca": "TorchScript",
        "ham": "TorchScript",
        "mhsa": "TorchScript",
        "residual_attention": "TorchScript",
    },
    "onnx": {
        "asym_nonlocal": "adaptive_avg_pool2d",
        "condconv": "kernel of unknown shape",
        "criss_cross": "EyeLike",
        "deform": "unrecognized namespace",
        "fca": "adaptive_avg_pool2d",
        "gather_excite": "adaptive_avg_pool2d",
        "local_relation": "Unfold",
        "rga": "Unfold",
        "san": "Unfold",
        "sasa": "Unfold",
    },
}
"""Format -> block -> a phrase of the one-line reason (ONNX: the TorchScript-based exporter,
used without onnxscript; the dynamo exporter may convert more, which the test accepts)."""
