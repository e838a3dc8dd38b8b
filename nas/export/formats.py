"""The deployment formats of an exported model: TorchScript and ONNX, each checked on a run.

A format is only reported as written after the converted model ran on a random input and
matched the eager model, so a silent numerical change never ships. Where a block's code cannot
be converted, the failure is one line naming the format and the first line of the converter's
reason (``torch.jit.script`` refuses Python it cannot type; ONNX has no operator for some
calls), instead of a traceback.

ONNX is written by the dynamo exporter (``torch.onnx.export(..., dynamo=True)``, through
``torch.export``) only: measured over every registered block it converts every block the
TorchScript-based exporter converted and more (``Tensor.unfold``, uneven adaptive pooling,
``deform_conv2d``), so the older exporter is no fallback (docs/export.md has the table).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

TOLERANCE = 1e-4
"""Largest absolute difference accepted between a converted model and eager PyTorch."""

ONNX_INSTALL = "pip install 'attention-nas[onnx]'"

ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript")
"""The ``[onnx]`` extra: the format, its runtime, and what the dynamo exporter writes with."""

INLINE_LIMIT = 2**31 - 2**26
"""Weights (bytes) kept inside the ``.onnx`` file: under ONNX's 2 GB protobuf limit, with room
for the graph; a larger model writes its weights to ``NAME.onnx.data`` beside it."""


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
    """Whether the ``[onnx]`` extra is installed: ``onnx``, ``onnxruntime`` and ``onnxscript``
    (which ``torch.onnx.export(..., dynamo=True)`` needs)."""
    return all(importlib.util.find_spec(m) is not None for m in ONNX_PACKAGES)


@dataclass(frozen=True)
class OnnxFile:
    """What ``write_onnx`` wrote and checked."""

    error: float
    """Largest absolute difference from eager PyTorch over the checked runs."""
    spatial: bool
    """Whether height and width are dynamic too (else only the batch is)."""
    data: Path | None
    """The external-data file beside the ``.onnx``, only for a model over ``INLINE_LIMIT``."""


def write_onnx(
    model: nn.Module, x: Tensor, path: Path, inline_limit: int = INLINE_LIMIT
) -> OnnxFile:
    """Write ``model`` to ``path`` with the dynamo exporter and a dynamic batch (and dynamic
    height and width where the model allows), check it with ``onnx.checker`` and run it in
    ONNX Runtime on an input of another batch (and spatial) size against eager PyTorch.

    The weights are inside ``path`` unless they exceed ``inline_limit`` bytes (ONNX's protobuf
    limit is 2 GB), so ``path`` is all a user copies. ``ValueError`` (one line) for any
    failure, and nothing is left behind.
    """
    if not onnx_available():
        raise ValueError(f"--onnx needs {', '.join(ONNX_PACKAGES)}; {ONNX_INSTALL}")
    model = model.eval()
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    external = size > inline_limit
    try:  # dynamic height and width first; a model that fixes them keeps a dynamic batch only
        return _write_checked(model, x, path, spatial=True, external=external)
    except ValueError:
        return _write_checked(model, x, path, spatial=False, external=external)


def _write_checked(
    model: nn.Module, x: Tensor, path: Path, *, spatial: bool, external: bool
) -> OnnxFile:
    import onnx

    data = path.with_name(path.name + ".data") if external else None
    try:
        try:
            symbolic = _export(model, x, path, spatial=spatial, external=external)
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as exc:
            raise ValueError(f"ONNX: export fails ({dynamo_reason(exc)})") from None
        if not symbolic[0]:
            raise ValueError("ONNX: the exported model fixes the batch size")
        if spatial and not all(symbolic[2:]):
            raise ValueError("ONNX: the exported model fixes the image size")
        scale = 2 if spatial else 1
        other = (x.shape[0] + 1, x.shape[1], *(s * scale for s in x.shape[2:]))
        error = _run(model, path, torch.randn(other, generator=torch.Generator().manual_seed(0)))
    except ValueError:
        path.unlink(missing_ok=True)
        if data is not None:
            data.unlink(missing_ok=True)
        raise
    return OnnxFile(error=error, spatial=spatial, data=data)


def _run(model: nn.Module, path: Path, x: Tensor) -> float:
    """ONNX Runtime's output on ``x`` against eager PyTorch's: the largest difference."""
    import onnxruntime

    try:
        with torch.no_grad():
            want = model(x)
    except Exception as exc:  # a model that fixes its input size (the spatial attempt only)
        raise ValueError(
            f"ONNX: PyTorch itself fails on {tuple(x.shape)} ({reason(exc)})"
        ) from None
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # fatal only: a failure is this function's one line
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})[:1]
    except Exception as exc:
        raise ValueError(
            f"ONNX: ONNX Runtime cannot run the exported model ({reason(exc)})"
        ) from None
    error = _close(torch.from_numpy(got), want)
    if not error <= TOLERANCE:
        raise ValueError(f"ONNX: ONNX Runtime's output differs from PyTorch's by {error:.2g}")
    return error


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter: its progress lines, warnings, and anything C++ writes to file
    descriptor 2 (a failure is reported in one line instead)."""
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


def _export(
    model: nn.Module, x: Tensor, path: Path, *, spatial: bool, external: bool
) -> list[bool]:
    """``torch.onnx.export(..., dynamo=True)`` to ``path``; which input dimensions are symbolic.

    The batch is a named dimension (an export that fixes it fails); height and width, when
    ``spatial``, are ``Dim.AUTO``: dynamic unless the model's code fixes them.
    """
    dims: dict[int, Any] = {0: torch.export.Dim("batch")}
    if spatial:
        dims |= {axis: torch.export.Dim.AUTO for axis in range(2, x.dim())}
    with _quiet():
        program = torch.onnx.export(
            model,
            (x,),
            dynamo=True,
            dynamic_shapes=(dims,),
            input_names=["input"],
            output_names=["logits"],
        )
        assert program is not None
        program.save(str(path), external_data=external)
    shape = program.model.graph.inputs[0].shape
    assert shape is not None
    return [not isinstance(dim, int) for dim in shape]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OPERATOR = re.compile(r"target=torch\.ops\.([\w.]+)")


def dynamo_reason(exc: BaseException) -> str:
    """One line for a dynamo-exporter failure: the PyTorch operator it could not translate and
    the innermost error (its outer messages are generic "step 3/3 ... next steps" advice)."""
    chain, seen = [exc], {id(exc)}
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and id(nxt) not in seen:
        chain.append(nxt)
        seen.add(id(nxt))
    operators = [m.group(1) for e in chain if (m := _OPERATOR.search(str(e)))]
    root = _ANSI.sub("", reason(chain[-1]))
    return f"{operators[0]}: {root}" if operators else root
