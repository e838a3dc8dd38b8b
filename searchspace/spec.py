"""Architecture specs: a backbone plus one attention choice per stage, as pure data.

The JSON form is a user-facing format, written and shared by hand::

    {"backbone": "resnet50", "width": 1.0, "in_channels": 3, "num_classes": 1000,
     "input_size": 224,
     "stages": [{"block": "se", "params": {"ratio": 16}, "position": "branch",
                 "blocks": "all"}, ...]}

Omitted fields take defaults. :meth:`ArchSpec.from_dict` validates and returns the canonical
form (defaults filled, meaningless fields normalised), so equivalent specs compare equal and
share :attr:`ArchSpec.canonical_id`. This module imports no torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.backbones import BACKBONES, Backbone, get_backbone
from searchspace.catalog import POSITIONS, Choice, block_info
from searchspace.fields import integer, reject_unknown, text
from searchspace.fields import width as width_field
from searchspace.layout import stage_shapes

SELECTORS: tuple[str, ...] = ("all", "first", "last", "alternate")
"""Which residual blocks of a stage get the attention block."""

_STAGE_KEYS = ("block", "params", "position", "blocks")
_PLAIN_MEANING = {"params": "parameters", "position": "insertion point", "blocks": "block selector"}
_SPEC_KEYS = ("backbone", "width", "in_channels", "num_classes", "input_size", "stages")
_SCALE_KEYS = ("width", "input_size", "in_channels", "num_classes")
UNBUILDABLE: tuple[str, ...] = ("divisor",)
"""Parameter rules a narrower width can break for good (a head count that no longer divides
the channels); a ``reduction`` past the channels is clamped by the block, not broken."""


@dataclass(frozen=True)
class StageSpec:
    """The attention choice of one stage.

    Attributes:
        block: registry name (``"none"`` for a plain stage).
        params: the block's own parameters (``{"ratio": 16}``), defaults filled in.
        position: insertion point, one of :data:`searchspace.catalog.POSITIONS`.
        blocks: which residual blocks get it, one of :data:`SELECTORS`.
    """

    block: str = "none"
    params: Mapping[str, Choice] = field(default_factory=dict)
    position: str = "branch"
    blocks: str = "all"

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "params": dict(self.params),
            "position": self.position,
            "blocks": self.blocks,
        }

    def label(self) -> str:
        """Short human form, ``se(ratio=16)@branch/all``."""
        if self.block == "none":
            return "none"
        args = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.block}({args})@{self.position}/{self.blocks}"


_PLAIN_STAGE = StageSpec().to_dict()


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
        stages = tuple(_parse_stage(i, raw, backbone, width) for i, raw in enumerate(raw_stages))
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


def stage_problems(
    index: int,
    stage: StageSpec,
    backbone: Backbone,
    width: float,
    *,
    rules: tuple[str, ...] | None = None,
) -> list[str]:
    """Why ``stage``'s parameters do not fit the channels it meets at ``width`` (empty: they do).

    Every width the block meets where ``stage`` puts it (:meth:`StageShape.attention_widths`)
    is checked against each parameter's rule, so a reduction ratio larger than the channels
    and a head count that does not divide them are both found.
    """
    if stage.block == "none":
        return []
    info = block_info(stage.block)
    shape = stage_shapes(backbone, width)[index]
    problems = []
    for channels in shape.attention_widths(stage.position, stage.blocks):
        for name, value in stage.params.items():
            if rules is not None and info.param_index[name].rule not in rules:
                continue
            problem = info.param_index[name].check(value, channels)
            if problem:
                problems.append(f"stages[{index}].params.{name}: {problem}")
    return problems


def _parse_stage(index: int, raw: Any, backbone: Backbone, width: float) -> StageSpec:
    where = f"stages[{index}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f'{where}: expected an object like {{"block": "se"}}, got {raw!r}')
    reject_unknown(where, raw, _STAGE_KEYS)
    info = block_info(text(f"{where}.block", raw.get("block", "none")))
    if info.name == "none":
        _reject_plain_fields(where, raw)
        return StageSpec()
    if not info.is_legal_stage(index, backbone.num_stages):
        late = ", ".join(str(i) for i in range(backbone.num_stages // 2, backbone.num_stages))
        raise ValueError(
            f"{where}.block: {info.name} costs O((HW)^2) and is declared late-stage only; "
            f"on {backbone.name} use it in stages {late}"
        )
    position = raw.get("position", "branch" if "branch" in info.positions else info.positions[0])
    if position not in info.positions:
        hint = "" if position in POSITIONS else " (not an insertion point)"
        raise ValueError(
            f"{where}.position: {position!r}{hint} is not legal for {info.name}; "
            f"allowed: {', '.join(info.positions)}"
        )
    selector = raw.get("blocks", "all")
    if selector not in SELECTORS:
        raise ValueError(f"{where}.blocks: {selector!r}; allowed: {', '.join(SELECTORS)}")
    if position == "stage_end" and selector != "all":
        raise ValueError(
            f"{where}.blocks: {selector!r} contradicts position 'stage_end', which places one "
            "block after the stage's last residual block; omit blocks (or give 'all')"
        )
    params = _parse_params(where, info.name, raw.get("params", {}))
    stage = StageSpec(info.name, params, position, selector)
    problems = stage_problems(index, stage, backbone, width)
    if problems:
        raise ValueError(problems[0])
    return stage


def _reject_plain_fields(where: str, raw: Mapping[str, Any]) -> None:
    """Refuse what a ``none`` stage would ignore (a forgotten ``block``); omitted is the default.

    The values :meth:`StageSpec.to_dict` writes for a plain stage are accepted, so it reads back.
    """
    for key in (k for k in ("params", "position", "blocks") if k in raw):
        if raw[key] == _PLAIN_STAGE[key] and type(raw[key]) is type(_PLAIN_STAGE[key]):
            continue
        what = _PLAIN_MEANING[key]
        if "block" not in raw:
            raise ValueError(
                f"{where}.{key}: given without a block, so the stage is 'none', which has no "
                f'{what}; name the block (e.g. "block": "se") or omit {key}'
            )
        raise ValueError(
            f'{where}.{key}: block "none" takes no {what}; omit {key} or name a block (e.g. "se")'
        )


def _parse_params(where: str, block: str, raw: Any) -> dict[str, Choice]:
    info = block_info(block)
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}.params: expected an object, got {raw!r}")
    unknown = sorted(set(raw) - set(info.param_index))
    if unknown:
        allowed = ", ".join(info.param_index) or "none"
        raise ValueError(
            f"{where}.params: unknown parameter {unknown[0]!r} for {block}; allowed: {allowed}"
        )
    params = {**info.defaults, **raw}
    for name, value in params.items():
        problem = info.param_index[name].check(value)
        if problem:
            raise ValueError(f"{where}.params.{name}: {problem}")
    return {name: params[name] for name in info.param_index}
