"""Where attention sits in a ResNet stage and how wide it is there: the one rule, pure.

Every width question is answered here and nowhere else: the channels of a stage at a width
multiplier (:func:`stage_shapes`), the channels a block sees at an insertion point
(:func:`block_channels`), and every width a stage's attention choice meets
(:meth:`StageShape.attention_widths`), which spec validation, the search space, the proxy and
the builder all use. Standard library only: ``nas export`` copies what
:mod:`searchspace.resnet` uses of this module into a self-contained file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


def selected_blocks(selector: str, depth: int) -> tuple[int, ...]:
    """Indices of the residual blocks that ``selector`` picks in a ``depth``-block stage.

    ``all`` every block, ``first`` block 0, ``last`` the final block, ``alternate`` blocks
    0, 2, 4, ... (the "every other block" placement of the SE and CBAM ablations).
    """
    if selector == "first":
        return (0,)
    if selector == "last":
        return (depth - 1,)
    if selector == "alternate":
        return tuple(range(0, depth, 2))
    assert selector == "all", f"unknown selector {selector!r}"
    return tuple(range(depth))


def scaled_channels(channels: int, width: float) -> int:
    """``channels`` at width multiplier ``width``: rounded to nearest, never below one."""
    return max(1, round(channels * width))


def block_channels(
    position: str, block_index: int, *, in_channels: int, planes: int, out_channels: int
) -> int:
    """Channels an attention block sees at ``position`` of residual block ``block_index``.

    ``pre`` sees the block's input: the stage's input for block 0, the stage's output width
    for the blocks after it. ``mid`` and ``replace`` sit at the 3x3 conv (``planes``);
    ``branch``, ``post``, ``identity`` and ``stage_end`` see the block's output
    (``planes * expansion``).
    """
    if position == "pre":
        return in_channels if block_index == 0 else out_channels
    if position in ("mid", "replace"):
        return planes
    return out_channels


@dataclass(frozen=True)
class StageShape:
    """Channel widths one stage offers its attention blocks, at a given width multiplier.

    Attributes:
        in_channels: input of the stage's first block (the stem's or previous stage's output).
        planes: width of the 3x3 conv (``mid`` and ``replace`` points).
        out_channels: output of every block (``branch``, ``post``, ``identity``, ``stage_end``).
        depth: number of residual blocks.
        stride: stride of the first block.
    """

    in_channels: int
    planes: int
    out_channels: int
    depth: int
    stride: int

    def channels_at(self, position: str, block_index: int) -> int:
        """Channels an attention block sees at ``position`` of block ``block_index``."""
        return block_channels(
            position,
            block_index,
            in_channels=self.in_channels,
            planes=self.planes,
            out_channels=self.out_channels,
        )

    def attention_widths(self, position: str, selector: str = "all") -> tuple[int, ...]:
        """Every width, ascending, a block at ``position`` meets in the blocks ``selector`` picks.

        A ``stage_end`` block is one module after the stage's last residual block, so it
        meets the output width once, whatever the selector.
        """
        if position == "stage_end":
            return (self.out_channels,)
        picked = selected_blocks(selector, self.depth)
        return tuple(sorted({self.channels_at(position, b) for b in picked}))


class StageLayout(Protocol):
    """What :func:`stage_shapes` reads of a backbone (:class:`searchspace.backbones.Backbone`)."""

    @property
    def stem(self) -> int: ...

    @property
    def depths(self) -> tuple[int, ...]: ...

    @property
    def planes(self) -> tuple[int, ...]: ...

    @property
    def expansion(self) -> int: ...

    def stage_strides(self) -> tuple[int, ...]: ...


def stage_shapes(backbone: StageLayout, width: float) -> tuple[StageShape, ...]:
    """Per-stage channel widths of ``backbone`` at multiplier ``width``.

    The stem and every stage's 3x3 width scale by ``width`` (:func:`scaled_channels`); a
    stage's output is its 3x3 width times the block's expansion (4 for bottlenecks, He et
    al. 2016, Table 1), and is the next stage's input.
    """
    shapes = []
    in_channels = scaled_channels(backbone.stem, width)
    for depth, planes, stride in zip(
        backbone.depths, backbone.planes, backbone.stage_strides(), strict=True
    ):
        width_planes = scaled_channels(planes, width)
        out = width_planes * backbone.expansion
        shapes.append(StageShape(in_channels, width_planes, out, depth, stride))
        in_channels = out
    return tuple(shapes)
