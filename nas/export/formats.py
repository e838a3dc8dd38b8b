"""The deployment formats of an exported model: TorchScript and ONNX, each checked on a run.

A format is only reported as written after the converted model ran on a random input and
matched the eager model, so a silent numerical change never ships. Where a block's code cannot
be converted, the failure is one line naming the format and the first line of the converter's
reason (``torch.jit.script`` refuses Python it cannot type; ONNX has no operator for some
calls), instead of a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

TOLERANCE = 1e-4
"""Largest absolute difference accepted between a converted model and eager PyTorch."""

ONNX_INSTALL = "pip install 'attention-nas[onnx]'"


def reason(exc: BaseException) -> str:
    """The first non-empty line of ``exc``, short: what a one-line message can carry."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _close(got: Tensor, want: Tensor) -> float:
    return float((got - want).abs().max()) if got.shape == want.shape else float("inf")


def torchscript(model: nn.Module, x: Tensor) -> torch.jit.ScriptModule:
    """``torch.jit.script(model)``, checked against eager on ``x``; ``ValueError`` otherwise."""
    model = model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.script's deprecation notice
            scripted = torch.jit.script(model)
    except Exception as exc:
        raise ValueError(f"TorchScript: torch.jit.script fails ({reason(exc)})") from None
    with torch.no_grad():
        error = _close(scripted(x), model(x))
    if not error <= TOLERANCE:
        raise ValueError(f"TorchScript: the scripted model differs from eager by {error:.2g}")
    return scripted


def onnx_available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` (the ``[onnx]`` extra) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def write_onnx(model: nn.Module, x: Tensor, path: Path) -> float:
    """Write ``model`` to ``path`` as one ONNX file with a dynamic batch dimension, check it with
    ``onnx.checker`` and run it in ONNX Runtime on a batch of a different size; returns the
    largest difference from eager. ``ValueError`` (one line) for any failure.

    The dynamo exporter (``torch.export`` based) is used when ``onnxscript`` is installed, else
    the TorchScript-based one; weights are saved inside the file (ONNX's 2 GB protobuf limit
    is far above any model of this search space), so ``path`` is all a user copies.
    """
    if not onnx_available():
        raise ValueError(f"--onnx needs onnx and onnxruntime; {ONNX_INSTALL}")
    import onnx
    import onnxruntime

    model = model.eval()
    try:
        _export(model, x, path)
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise ValueError(f"ONNX: export fails ({reason(exc)})") from None
    other = torch.randn(x.shape[0] + 1, *x.shape[1:], generator=torch.Generator().manual_seed(0))
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        (got,) = session.run(None, {name: other.numpy()})[:1]
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise ValueError(
            f"ONNX: ONNX Runtime cannot run the exported model ({reason(exc)})"
        ) from None
    with torch.no_grad():
        error = _close(torch.from_numpy(got), model(other))
    if not error <= TOLERANCE:
        path.unlink(missing_ok=True)
        raise ValueError(f"ONNX: ONNX Runtime's output differs from PyTorch's by {error:.2g}")
    return error


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters: warnings, Python output and the graph dump the TorchScript-based
    exporter writes from C++ to file descriptors 1 and 2 when it fails (the one line says why)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(sink.fileno(), 2)
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _export(model: nn.Module, x: Tensor, path: Path) -> None:
    names, outputs = ["input"], ["logits"]
    with _quiet():
        if importlib.util.find_spec("onnxscript") is not None:
            program = torch.onnx.export(
                model,
                (x,),
                dynamo=True,
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                input_names=names,
                output_names=outputs,
            )
            assert program is not None
            program.save(str(path), external_data=False)
        else:
            # torch's setup_onnx_logging turns ONNX logging on for good (it tests a function's
            # truth): send it to unbuffered stderr, which _quiet holds, not buffered stdout.
            torch._C._jit_set_onnx_log_output_stream("stderr")
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=False,
                dynamic_axes={"input": {0: "batch"}},
                input_names=names,
                output_names=outputs,
            )
