"""The proxy architecture: a spec's attention layout at the proxy's width and resolution.

The layout (which block, with which parameters, where) is kept exactly; only the scale
changes, and the stem and classifier adapt to the dataset's channels and classes. Narrowing
can break a ``divisor`` parameter (heads or groups that no longer divide the channels), and
the one rescale, :meth:`ArchSpec.with_scale`, refuses such a spec. So the width is first raised
to the smallest multiplier >= the requested one at which every divisor divides (the full
spec's own width always does), and the notes say so. A ``reduction`` ratio larger than the
narrowed channels is harmless (blocks clamp hidden widths to >= 1, as SE's ``max(1, C // r)``)
and keeps the requested width: raising it would train SE at ratio 16 at full width.
"""

from __future__ import annotations

from dataclasses import dataclass

from searchspace.spec import UNBUILDABLE, ArchSpec


@dataclass(frozen=True)
class Proxy:
    """The proxy spec and human notes on how it differs from the full spec."""

    spec: ArchSpec
    notes: tuple[str, ...]


def make_proxy(
    spec: ArchSpec, *, width: float | None, input_size: int, in_channels: int, num_classes: int
) -> Proxy:
    """``spec`` rescaled for training on a dataset of the given shape.

    ``ValueError`` (naming the stage and parameter) when a proxy *wider* than ``spec`` breaks
    a parameter: only narrowing is adjusted, since the full width is the fallback.
    """
    target = width if width is not None else spec.width
    chosen = _buildable_width(spec, target)
    proxy = spec.with_scale(
        width=chosen, input_size=input_size, in_channels=in_channels, num_classes=num_classes
    )
    notes = []
    for field in ("width", "input_size", "in_channels", "num_classes"):
        full, small = getattr(spec, field), getattr(proxy, field)
        if full != small:
            notes.append(f"{field} {full} -> {small}")
    if chosen != target:
        why = spec.problems_at(target, rules=UNBUILDABLE)[0]
        notes.append(f"width {target} raised to {chosen} so every divisor divides ({why})")
    return Proxy(proxy, tuple(notes))


def _buildable_width(spec: ArchSpec, width: float) -> float:
    """The smallest multiplier >= ``width`` (in steps of one channel of the widest stage)."""
    if width >= spec.width or not spec.problems_at(width, rules=UNBUILDABLE):
        return width
    step = 1.0 / max(spec.info.planes)
    candidate = width
    while candidate < spec.width:
        candidate = round(candidate + step, 6)
        if not spec.problems_at(candidate, rules=UNBUILDABLE):
            return min(candidate, spec.width)
    return spec.width
