"""Architecture specs: a backbone plus one attention choice per stage, as pure data.

The JSON form is a user-facing format, written and shared by hand::

    {"backbone": "resnet50", "width": 1.0, "in_channels": 3, "num_classes": 1000,
     "input_size": 224,
     "stages": [{"block": "se", "params": {"ratio": 16}, "position": "branch",
                 "blocks": "all"}, ...]}

Omitted fields take defaults. :meth:`ArchSpec.from_dict` validates and returns the canonical
form (defaults filled, meaningless fields normalised), so equivalent specs compare equal and
share :attr:`ArchSpec.canonical_id`. One stage's spec and its checks are in
:mod:`searchspace.stage` (re-exported here). This module imports no torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from searchspace.backbones import BACKBONES, Backbone, get_backbone
from searchspace.fields import integer, reject_unknown, text
from searchspace.fields import width as width_field
from searchspace.stage import SELECTORS, StageSpec, parse_stage, stage_problems

__all__ = ["SELECTORS", "UNBUILDABLE", "ArchSpec", "StageSpec", "stage_problems"]

_SPEC_KEYS = ("backbone", "width", "in_channels", "num_classes", "input_size", "stages")
_SCALE_KEYS = ("width", "input_size", "in_channels", "num_classes")
UNBUILDABLE: tuple[str, ...] = ("divisor",)
"""Parameter rules a narrower width can break for good (a head count that no longer divides
the channels); a ``reduction`` past the channels is clamped by the block, not broken."""


@dataclass(frozen=True)
class ArchSpec:
    """A whole architecture: backbone, its scale, and one :class:`StageSpec` per stage."""

    backbone: str
    stages: tuple[StageSpec, ...]
    width: float = 1.0
    in_channels: int = 3
    num_classes: int = 1000
    input_size: int = 224

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))

    def __hash__(self) -> int:
        return hash(self.canonical_id)

    @property
    def info(self) -> Backbone:
        return get_backbone(self.backbone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "width": self.width,
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "input_size": self.input_size,
            "stages": [s.to_dict() for s in self.stages],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is None)

    @property
    def canonical_id(self) -> str:
        """16 hex digits of SHA-256 over the canonical JSON: equal for equivalent specs."""
        payload = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_scale(
        self,
        *,
        width: float | None = None,
        input_size: int | None = None,
        in_channels: int | None = None,
        num_classes: int | None = None,
    ) -> ArchSpec:
        """The same attention layout at another scale (a proxy, or another dataset's shape).

        The one way to rescale a spec, validated: the spec with the new sizes is checked like
        one read from JSON, and the new width must build every block. A parameter that
        cannot be built at it (heads or groups that no longer divide the channels) is refused
        with a ``ValueError`` naming the new scale, the stage and the parameter. A reduction
        ratio larger than the *narrowed* channels is kept, as the block clamps its hidden
        width to one channel (SE's ``max(1, C // r)``): a proxy keeps the layout it ranks.
        :func:`workers.proxy.make_proxy` widens a proxy until :meth:`problems_at` with
        :data:`UNBUILDABLE` rules is empty before it rescales.
        """
        values = (width, input_size, in_channels, num_classes)
        changed = {k: v for k, v in zip(_SCALE_KEYS, values, strict=True) if v is not None}
        sizes = {k: v for k, v in changed.items() if k != "width"}
        try:
            spec = ArchSpec.from_dict({**self.to_dict(), **sizes})
            if width is None or width == spec.width:
                return spec
            width_field("width", width)
            problems = spec.problems_at(width, rules=UNBUILDABLE)
            if problems:
                raise ValueError(problems[0])
            return replace(spec, width=float(width))
        except ValueError as exc:
            scale = ", ".join(f"{k} {v}" for k, v in changed.items())
            raise ValueError(f"rescaled to {scale}: {exc}") from None

    def problems_at(self, width: float, *, rules: tuple[str, ...] | None = None) -> list[str]:
        """Why this layout's parameters would not fit at ``width`` (empty when they all do);
        ``rules`` limits the check to parameters with those rules (``None``: every rule)."""
        return [
            problem
            for index, stage in enumerate(self.stages)
            for problem in stage_problems(index, stage, self.info, width, rules=rules)
        ]

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"spec: not valid JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchSpec:
        """Validate ``data`` and return the canonical spec; ``ValueError`` names the field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"spec: expected a JSON object, got {type(data).__name__}")
        reject_unknown("spec", data, _SPEC_KEYS)
        if "backbone" not in data:
            raise ValueError("backbone: missing; allowed: " + ", ".join(BACKBONES))
        backbone = get_backbone(text("backbone", data["backbone"]))
        width = float(width_field("width", data.get("width", 1.0)) or 0)
        in_channels = _positive("in_channels", data.get("in_channels", 3))
        num_classes = _positive("num_classes", data.get("num_classes", 1000))
        input_size = _positive("input_size", data.get("input_size", backbone.default_input_size))
        if input_size < 4:
            raise ValueError(f"input_size: must be >= 4 pixels, got {input_size}")
        raw_stages = data.get("stages", [{}] * backbone.num_stages)
        if not isinstance(raw_stages, list | tuple) or len(raw_stages) != backbone.num_stages:
            got = len(raw_stages) if isinstance(raw_stages, list | tuple) else raw_stages
            raise ValueError(
                f"stages: {backbone.name} has {backbone.num_stages} stages, so expected "
                f"{backbone.num_stages} entries (one per stage), got {got}"
            )
        stages = tuple(parse_stage(i, raw, backbone, width) for i, raw in enumerate(raw_stages))
        return cls(backbone.name, stages, width, in_channels, num_classes, input_size)

    def validated(self) -> ArchSpec:
        """This spec re-checked and canonicalised (for specs built in code)."""
        return ArchSpec.from_dict(self.to_dict())

    def without_attention(self) -> ArchSpec:
        """The plain backbone at this spec's scale (every stage ``none``)."""
        return replace(self, stages=tuple(StageSpec() for _ in self.stages))


def _positive(name: str, value: Any) -> int:
    checked = integer(name, value, minimum=1)
    assert checked is not None
    return checked
