"""The trained proxy weights of a trial, and the proxy-scale spec they fit.

Workers train a spec's *proxy*: the same attention layout at a smaller width and resolution,
with the dataset's channels and classes (:mod:`workers.proxy`); the trial's user attribute
``proxy`` records that scale and ``checkpoint_artifact`` names the weights in the Optuna
artifact store (docs/study-format.md). Weights only fit a network of the same scale, so
``nas export --weights`` exports the proxy-scale network and says so.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from searchspace.fields import WIDTH_MAX
from searchspace.spec import ArchSpec


def proxy_spec(spec: ArchSpec, proxy: Any) -> ArchSpec:
    """``spec`` at the scale recorded in the trial's ``proxy`` attribute.

    The recorded numbers are checked here first (finite width in (0, 8], positive integers),
    so a damaged attribute is named as such; the rescale is :meth:`ArchSpec.with_scale`, the
    one that validates, so a layout whose parameters do not fit at the recorded width is
    refused naming the stage and parameter instead of exporting a network that differs.
    """
    if not isinstance(proxy, Mapping):
        raise ValueError("the trial has no 'proxy' attribute, so the weights' scale is unknown")
    # A missing or None entry means "the full spec's" (a budget's ``input_size = None`` is the
    # dataset's own size); the strict load in :func:`fetch_weights` catches any mismatch.
    width = proxy.get("width") if proxy.get("width") is not None else spec.width
    if not isinstance(width, int | float) or isinstance(width, bool) or not math.isfinite(width):
        raise ValueError(f"proxy width {width!r} is not a number")
    if not 0 < width <= WIDTH_MAX:
        raise ValueError(f"proxy width {width} is outside (0, {WIDTH_MAX}]")
    sizes: dict[str, int] = {}
    for key in ("input_size", "in_channels", "num_classes"):
        value = proxy.get(key) if proxy.get(key) is not None else getattr(spec, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"proxy {key} {value!r} is not a positive integer")
        sizes[key] = value
    return spec.with_scale(width=float(width), **sizes)


def scale_note(spec: ArchSpec) -> str:
    """``width 0.25, 28x28 input, 1 channel(s), 10 classes`` for messages and docstrings."""
    return (
        f"width {spec.width:g}, {spec.input_size}x{spec.input_size} input, "
        f"{spec.in_channels} channel(s), {spec.num_classes} classes"
    )


def fetch_weights(store: Any, artifact_id: str, spec: ArchSpec, destination: Path) -> None:
    """Download ``artifact_id`` from ``store``, check it fits ``spec`` and save it there.

    The file is read with ``weights_only=True`` (a plain state_dict, no pickled code) and must
    load into ``build_model(spec)`` with ``strict=True`` before anything is written.
    """
    import torch
    from optuna.artifacts import download_artifact

    from searchspace.build import build_model

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.pt"
        try:
            download_artifact(artifact_store=store, artifact_id=artifact_id, file_path=str(path))
        except Exception as exc:
            raise ValueError(
                f"checkpoint artifact {artifact_id!r} cannot be read ({type(exc).__name__}); "
                "pass --artifacts DIR where the search stored its checkpoints"
            ) from None
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"checkpoint artifact {artifact_id!r} is not a plain state_dict")
    with torch.device("meta"):
        model = build_model(spec)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(
            f"the checkpoint does not fit the proxy ({scale_note(spec)}): {first}"
        ) from None
    torch.save(dict(state), destination)
