"""Pure declarations of attention blocks: their parameters, choice sets and legal positions.

The catalog is torch-free on purpose: specs are validated, hashed and sampled from it in
processes that never build a network (the search driver, ``nas pareto``, the dashboard).
The torch implementations in :mod:`searchspace.blocks` bind to these declarations by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from searchspace.registry import Registry

Choice = int | float | str | bool

#: How a user-given value is checked beyond "is it one of the search choices".
#:
#: - ``choice``: must be one of ``choices`` (enumerations, flags).
#: - ``positive``: any integer >= 1; ``choices`` is only the search grid.
#: - ``odd``: any odd integer >= 1 (kernel sizes); string choices such as ``"adaptive"`` too.
#: - ``reduction``: integer >= 1 that divides the channels down: ``channels // value >= 1``.
#: - ``divisor``: integer >= 1 that divides the block's channels exactly (heads, groups).
Rule = Literal["choice", "positive", "odd", "reduction", "divisor"]

POSITIONS: tuple[str, ...] = ("pre", "mid", "branch", "post", "identity", "stage_end", "replace")
"""Insertion points, in the order a residual block meets them.

- ``pre``: on the residual branch's input (SE-PRE); the shortcut sees the raw input.
- ``mid``: after the middle 3x3 conv + BN of the branch.
- ``branch``: end of the residual branch, before the add (SE's standard integration).
- ``post``: after the add and ReLU (SE-POST).
- ``identity``: on the shortcut (SE-Identity).
- ``stage_end``: once, after the stage's last residual block (GCNet / Non-local style).
- ``replace``: replaces the 3x3 conv of the branch (kernel attention: SK, SASA, CondConv...).
"""

CHANNEL_POSITIONS: tuple[str, ...] = ("branch", "pre", "mid", "post", "identity", "stage_end")
"""The legal points of a shape-preserving attention block, natural one (SE's ``branch``) first."""

FAMILIES: tuple[str, ...] = ("none", "channel", "spatial", "channel_spatial", "branch", "plugin")
"""The survey's families (Guo et al., "Attention mechanisms in computer vision: a survey",
Computational Visual Media 2022): ``branch`` covers kernel/branch selection (SK, CondConv);
``plugin`` covers stage-end modules that are not attention in the narrow sense (ASPP)."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a block.

    ``choices`` is the finite set the search samples from; ``rule`` says what a hand-written
    spec may use beyond it (see :data:`Rule`).
    """

    name: str
    choices: tuple[Choice, ...]
    default: Choice
    rule: Rule = "choice"
    doc: str = ""

    def __post_init__(self) -> None:
        assert self.choices, f"parameter {self.name!r} declares no choices"
        assert self.default in self.choices, f"default of {self.name!r} is not a choice"

    def check(self, value: object, channels: int | None = None) -> str | None:
        """Return why ``value`` is illegal here (``None`` when it is legal).

        ``channels`` is the width the block sees at its insertion point, for the
        ``reduction`` and ``divisor`` rules.
        """
        allowed = ", ".join(repr(c) for c in self.choices)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if _match(self.choices, value) is None:
            if self.rule == "choice" or not is_int:
                return f"must be one of {allowed}, got {value!r}"
            assert isinstance(value, int)
            if value < 1:
                return f"must be >= 1 (search choices: {allowed}), got {value}"
            if self.rule == "odd" and value % 2 == 0:
                return f"must be an odd kernel size (search choices: {allowed}), got even {value}"
        if not is_int or channels is None:
            return None
        assert isinstance(value, int)
        if self.rule == "reduction" and channels // value < 1:
            return f"{value} leaves < 1 of the {channels} channels; use a value <= {channels}"
        if self.rule == "divisor" and channels % value:
            return f"{value} does not divide the {channels} channels; use a divisor of {channels}"
        return None


def _match(choices: tuple[Choice, ...], value: object) -> Choice | None:
    """The declared choice equal to ``value`` (so ``True`` never passes for ``1``)."""
    for choice in choices:
        if choice == value and type(choice) is type(value):
            return choice
    return None


@dataclass(frozen=True)
class BlockInfo:
    """What the search space knows about one attention block, without building it.

    Attributes:
        name: registry key used in specs (``"se"``).
        family: one of :data:`FAMILIES`.
        paper: the block's one citation, ``"First et al., Title, Venue, link"``, shown by
            ``nas space``, ``docs/blocks.md`` and exported modules; the implementation's
            module docstring gives only the link (:attr:`paper_url`) and points here.
        params: declared parameters, in the order the constructor takes them.
        positions: legal insertion points, the natural one first.
        late_only: for O((HW)^2) global blocks: legal only in the later half of the stages,
            the survey's "non-local only in late stages" lesson made a declared constraint.
    """

    name: str
    family: str
    paper: str
    params: tuple[Param, ...] = ()
    positions: tuple[str, ...] = CHANNEL_POSITIONS
    late_only: bool = False
    summary: str = ""
    param_index: Mapping[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.family in FAMILIES, f"{self.name}: unknown family {self.family!r}"
        assert self.positions, f"{self.name}: no legal positions"
        assert set(self.positions) <= set(POSITIONS), f"{self.name}: unknown position"
        assert self.paper_url.startswith("http"), f"{self.name}: paper does not end in a link"
        object.__setattr__(self, "param_index", {p.name: p for p in self.params})

    @property
    def paper_url(self) -> str:
        """The link that ends :attr:`paper`."""
        return self.paper.rpartition(", ")[2]

    @property
    def citation(self) -> str:
        """:attr:`paper` without its link: ``"First et al., Title, Venue"``."""
        return self.paper.rpartition(", ")[0]

    @property
    def defaults(self) -> dict[str, Choice]:
        return {p.name: p.default for p in self.params}

    def is_legal_stage(self, stage: int, num_stages: int) -> bool:
        """Whether a ``late_only`` block may sit in ``stage`` (0-based) of ``num_stages``."""
        return not self.late_only or stage >= num_stages // 2


CATALOG: Registry[BlockInfo] = Registry("block", default="none")
"""Every declared block by name, ``none`` first, then alphabetical."""


def declare(info: BlockInfo) -> BlockInfo:
    """Add ``info`` to :data:`CATALOG`; a second declaration of one name raises."""
    return CATALOG.add(info.name, info)


def block_info(name: str) -> BlockInfo:
    """The declaration of ``name``; ``ValueError`` listing the known names otherwise."""
    return CATALOG.get(name)


def block_names() -> tuple[str, ...]:
    """All declared block names, ``none`` first, then alphabetical."""
    return CATALOG.names()
