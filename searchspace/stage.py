"""One stage's attention choice: :class:`StageSpec`, and how a stage read from JSON is checked.

A stage names a registered block, its parameters, an insertion point and which residual blocks
get it (``{"block": "se", "params": {"ratio": 16}, "position": "branch", "blocks": "all"}``).
:func:`parse_stage` checks one against the catalog and the channels it meets in its backbone at
a width, and returns it canonical (defaults filled); :class:`searchspace.spec.ArchSpec` calls
it for every stage. Like the spec module, this imports no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from searchspace.backbones import Backbone
from searchspace.catalog import POSITIONS, Choice, block_info
from searchspace.fields import reject_unknown, text
from searchspace.layout import stage_shapes

SELECTORS: tuple[str, ...] = ("all", "first", "last", "alternate")
"""Which residual blocks of a stage get the attention block."""

_STAGE_KEYS = ("block", "params", "position", "blocks")
_PLAIN_MEANING = {"params": "parameters", "position": "insertion point", "blocks": "block selector"}


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


def parse_stage(index: int, raw: Any, backbone: Backbone, width: float) -> StageSpec:
    """Stage ``index`` of a spec on ``backbone`` at ``width``, checked and canonical; the
    ``ValueError`` names the field as ``stages[i].field``."""
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
