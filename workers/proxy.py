"""The proxy architecture: a spec's attention layout at the proxy's width and resolution.

The layout (which block, with which parameters, where) is kept exactly; only the scale
changes, and the stem and classifier adapt to the dataset's channels and classes. Narrowing
can make a declared parameter illegal: a ``reduction`` ratio larger than the channels is
harmless (blocks clamp hidden widths to >= 1, as SE's ``max(1, C // r)``), but a ``divisor``
(heads, groups) that no longer divides the channels cannot be built, so the width is raised
to the smallest multiplier >= the requested one at which every such parameter divides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from searchspace.backbones import stage_shapes
from searchspace.catalog import block_info
from searchspace.spec import ArchSpec


@dataclass(frozen=True)
class Proxy:
    """The proxy spec and human notes on how it differs from the full spec."""

    spec: ArchSpec
    notes: tuple[str, ...]


def make_proxy(
    spec: ArchSpec, *, width: float | None, input_size: int, in_channels: int, num_classes: int
) -> Proxy:
    """``spec`` rescaled for training on a dataset of the given shape."""
    target = width if width is not None else spec.width
    chosen = _buildable_width(spec, target)
    proxy = replace(
        spec,
        width=chosen,
        input_size=input_size,
        in_channels=in_channels,
        num_classes=num_classes,
    )
    notes = []
    for field in ("width", "input_size", "in_channels", "num_classes"):
        full, small = getattr(spec, field), getattr(proxy, field)
        if full != small:
            notes.append(f"{field} {full} -> {small}")
    if chosen != target:
        notes.append(f"width {target} raised to {chosen} so every divisor parameter divides")
    return Proxy(proxy, tuple(notes))


def divisor_problems(spec: ArchSpec, width: float) -> list[str]:
    """Why ``spec``'s layout cannot be built at ``width`` (empty when it can)."""
    problems = []
    shapes = stage_shapes(spec.info, width)
    for index, (stage, shape) in enumerate(zip(spec.stages, shapes, strict=True)):
        if stage.block == "none":
            continue
        info = block_info(stage.block)
        if stage.position == "stage_end":
            widths = {shape.out_channels}
        else:
            widths = {
                shape.channels_at(stage.position, b)
                for b in range(shape.depth)
                if stage.applies_to(b, shape.depth)
            }
        for name, value in stage.params.items():
            if info.param_index[name].rule != "divisor":
                continue
            for channels in sorted(widths):
                problem = info.param_index[name].check(value, channels)
                if problem:
                    problems.append(f"stages[{index}].params.{name}: {problem}")
    return problems


def _buildable_width(spec: ArchSpec, width: float) -> float:
    """The smallest multiplier >= ``width`` (in steps of one channel of the widest stage)."""
    if width >= spec.width or not divisor_problems(spec, width):
        return width
    step = 1.0 / max(spec.info.planes)
    candidate = width
    while candidate < spec.width:
        candidate = round(candidate + step, 6)
        if not divisor_problems(spec, candidate):
            return min(candidate, spec.width)
    return spec.width
