"""The define-by-run search space: Optuna parameters derived from the block catalog.

For each searched stage ``i`` a trial draws::

    s{i}.block                  categorical over the blocks allowed in stage i ("none" included)
    s{i}.{block}.{param}        that block's own parameters (only when that block is drawn)
    s{i}.{block}.position       its insertion point
    s{i}.{block}.blocks         which residual blocks get it (not drawn for "stage_end")

so a ratio exists only in trials that chose a block with a ratio: real conditionals, which
Optuna's samplers treat as such. Stages that are not searched stay ``none``. The choices are
the catalog's, narrowed by ``[space]`` and by legality: late-only blocks only in late stages,
parameter values only where every channel width the block can meet in that stage accepts them
(an SE ratio of 32 cannot reduce 16 channels). This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from nas.config import SpaceSection
from searchspace.backbones import get_backbone
from searchspace.catalog import Choice, block_info, block_names
from searchspace.layout import StageShape, stage_shapes
from searchspace.spec import SELECTORS, ArchSpec


class Suggester(Protocol):
    """The part of ``optuna.trial.Trial`` the space uses."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class StageChoices:
    """What the sampler may choose in one stage.

    Attributes:
        blocks: allowed block names, ``none`` first.
        params: ``{block: {param: choices}}`` for every allowed block.
        positions: ``{block: insertion points}``, the block's natural one first.
        selectors: allowed residual-block selectors (``all``, ``first``, ...).
    """

    blocks: tuple[str, ...]
    params: Mapping[str, Mapping[str, tuple[Choice, ...]]]
    positions: Mapping[str, tuple[str, ...]]
    selectors: tuple[str, ...]


class SearchSpace:
    """The space of full-scale specs one search samples from.

    Args:
        space: the ``[space]`` section.
        in_channels, input_size, num_classes: the dataset's shape (the full-scale spec's).
        proxy_width: the width the proxy trains at (``None``: the spec's); parameter values
            must be legal at both widths, so every drawn spec also has a legal proxy.
    """

    def __init__(
        self,
        space: SpaceSection,
        *,
        in_channels: int,
        input_size: int,
        num_classes: int,
        proxy_width: float | None = None,
    ) -> None:
        self.backbone = get_backbone(space.backbone)
        self.base: dict[str, Any] = {
            "backbone": self.backbone.name,
            "width": space.width,
            "in_channels": in_channels,
            "input_size": input_size,
            "num_classes": num_classes,
        }
        widths = {space.width, proxy_width or space.width}
        shapes = [stage_shapes(self.backbone, w) for w in sorted(widths)]
        searched = range(self.backbone.num_stages) if space.stages is None else space.stages
        self.stages: dict[int, StageChoices] = {}
        left_out: dict[str, dict[int, str]] = {}
        for i in sorted(searched):
            choices, reasons = _stage_choices(
                space, i, self.backbone.num_stages, [s[i] for s in shapes]
            )
            self.stages[i] = choices
            for block, reason in reasons.items():
                left_out.setdefault(block, {})[i] = reason
        self.notes: list[str] = _check_named(space, self.stages, left_out)
        if all(len(choices) <= 1 for choices in self.distributions().values()):
            raise ValueError(
                "space: nothing to search: every searched stage has one choice "
                f"({self.describe()}); allow more blocks, positions, stages or values in [space]"
            )

    def sample(self, trial: Suggester) -> ArchSpec:
        """Draw one spec define-by-run; ``ValueError`` only if the catalog contradicts itself."""
        stages: list[dict[str, Any]] = [{} for _ in range(self.backbone.num_stages)]
        for i, choices in self.stages.items():
            block = trial.suggest_categorical(f"s{i}.block", list(choices.blocks))
            if block == "none":
                continue
            prefix = f"s{i}.{block}"
            params = {
                name: trial.suggest_categorical(f"{prefix}.{name}", list(values))
                for name, values in choices.params[block].items()
            }
            position = trial.suggest_categorical(
                f"{prefix}.position", list(choices.positions[block])
            )
            stage = {"block": block, "params": params, "position": position}
            if position != "stage_end":
                stage["blocks"] = trial.suggest_categorical(
                    f"{prefix}.blocks", list(choices.selectors)
                )
            stages[i] = stage
        return ArchSpec.from_dict({**self.base, "stages": stages})

    def params_for(self, stages: list[dict[str, Any]]) -> dict[str, Choice] | None:
        """The Optuna parameters that make :meth:`sample` draw ``stages`` (per-stage dicts).

        ``None`` when this space cannot draw them (a block, value, position or stage that the
        config does not allow): used to enqueue reference designs and interrupted trials.
        """
        spec = ArchSpec.from_dict({**self.base, "stages": stages})
        params: dict[str, Choice] = {}
        for i, stage in enumerate(spec.stages):
            choices = self.stages.get(i)
            if choices is None:
                if stage.block != "none":
                    return None
                continue
            if stage.block not in choices.blocks:
                return None
            params[f"s{i}.block"] = stage.block
            if stage.block == "none":
                continue
            prefix = f"s{i}.{stage.block}"
            for name, value in stage.params.items():
                if value not in choices.params[stage.block][name]:
                    return None
                params[f"{prefix}.{name}"] = value
            if stage.position not in choices.positions[stage.block]:
                return None
            params[f"{prefix}.position"] = stage.position
            if stage.position != "stage_end":
                if stage.blocks not in choices.selectors:
                    return None
                params[f"{prefix}.blocks"] = stage.blocks
        return params

    def distributions(self) -> dict[str, list[Choice]]:
        """Every parameter name this space can draw with its choices.

        Optuna's storage refuses a parameter name whose choices change within a study, so a
        study keeps this and a resumed search must draw from the same space.
        """
        out: dict[str, list[Choice]] = {}
        for i, choices in self.stages.items():
            out[f"s{i}.block"] = list(choices.blocks)
            for block in choices.blocks[1 if choices.blocks[0] == "none" else 0 :]:
                for name, values in choices.params[block].items():
                    out[f"s{i}.{block}.{name}"] = list(values)
                out[f"s{i}.{block}.position"] = list(choices.positions[block])
                out[f"s{i}.{block}.blocks"] = list(choices.selectors)
        return out

    def describe(self) -> str:
        """One line: searched stages and how many blocks each may take."""
        parts = [f"s{i}: {len(c.blocks)} blocks" for i, c in self.stages.items()]
        return f"{self.backbone.name}, " + ", ".join(parts)


def _check_named(
    space: SpaceSection, stages: Mapping[int, StageChoices], left_out: dict[str, dict[int, str]]
) -> list[str]:
    """Refuse a block the config names that no searched stage can take; note partial losses.

    A block is named by ``space.blocks`` or ``[space.params.<block>]``; blocks the config does
    not name are narrowed silently (the catalog minus what cannot fit is the default space).
    """
    named = {b for b in (*(space.blocks or ()), *space.params) if b != "none"}
    notes = []
    for block in sorted(named & set(left_out)):
        reasons = left_out[block]
        why = "; ".join(f"stage {i}: {reason}" for i, reason in sorted(reasons.items()))
        if not any(block in choices.blocks for choices in stages.values()):
            raise ValueError(
                f"space: {block} can go in no searched stage ({why}); change [space] or drop it"
            )
        notes.append(f"space: {block} left out of {why}")
    for i, choices in stages.items():
        if choices.blocks == ("none",) and named:
            notes.append(f"space: stage {i} has no block to choose, only none")
    return notes


def _stage_choices(
    space: SpaceSection, index: int, num_stages: int, shapes: list[StageShape]
) -> tuple[StageChoices, dict[str, str]]:
    """The stage's choices, and why each allowed block was left out of it."""
    allowed = space.blocks if space.blocks is not None else block_names()
    blocks: list[str] = ["none"] if "none" in allowed else []
    params: dict[str, dict[str, tuple[Choice, ...]]] = {}
    positions: dict[str, tuple[str, ...]] = {}
    reasons: dict[str, str] = {}
    for name in allowed:
        info = block_info(name)
        if name == "none":
            continue
        if not info.is_legal_stage(index, num_stages):
            reasons[name] = f"{name} is for late stages only ({num_stages // 2} and up)"
            continue
        points = tuple(p for p in info.positions if space.positions is None or p in space.positions)
        widths = set().union(*(_widths(shape, points) for shape in shapes))
        values = {
            p.name: tuple(
                v
                for v in space.params.get(name, {}).get(p.name, p.choices)
                if all(p.check(v, w) is None for w in widths)
            )
            for p in info.params
        }
        empty = [p for p, v in values.items() if not v]
        if not points:
            reasons[name] = f"none of its positions ({', '.join(info.positions)}) is allowed"
            continue
        if empty:
            given = list(space.params.get(name, {}).get(empty[0], ()))
            tried = f"{given}" if given else "the catalog's values"
            reasons[name] = (
                f"{name}.{empty[0]}: {tried} fit none of the channel widths {sorted(widths)}"
            )
            continue
        blocks.append(name)
        params[name], positions[name] = values, points
    selectors = space.selectors if space.selectors is not None else SELECTORS
    choices = StageChoices(tuple(blocks or ["none"]), params, positions, tuple(selectors))
    return choices, reasons


def _widths(shape: StageShape, positions: tuple[str, ...]) -> set[int]:
    """Every channel width a block at any of ``positions`` can meet in this stage.

    Any selector may be drawn, so every residual block counts (selector ``all``).
    """
    return {w for position in positions for w in shape.attention_widths(position, "all")}
