"""The one channel-width rule (``searchspace.layout``) and the one validated rescale."""

from __future__ import annotations

from typing import Any

import pytest
from torch import nn

from searchspace.backbones import get_backbone
from searchspace.catalog import POSITIONS
from searchspace.layout import block_channels, scaled_channels, stage_shapes
from searchspace.resnet import ResNet
from searchspace.spec import UNBUILDABLE, ArchSpec


def _triples(backbone: str, width: float) -> list[tuple[int, int, int]]:
    return [
        (s.in_channels, s.planes, s.out_channels)
        for s in stage_shapes(get_backbone(backbone), width)
    ]


def test_resnet20_widths_at_half_and_full_width() -> None:
    """(stage input, 3x3 width, output) per stage: 16/32/64 planes, stem 16, expansion 1."""
    assert _triples("resnet20", 1.0) == [(16, 16, 16), (16, 32, 32), (32, 64, 64)]
    assert _triples("resnet20", 0.5) == [(8, 8, 8), (8, 16, 16), (16, 32, 32)]


def test_resnet50_widths_at_half_width_expand_by_four() -> None:
    assert _triples("resnet50", 0.5) == [
        (32, 32, 128),
        (128, 64, 256),
        (256, 128, 512),
        (512, 256, 1024),
    ]


def test_scaling_rounds_and_keeps_one_channel() -> None:
    assert scaled_channels(16, 0.25) == 4
    assert scaled_channels(16, 0.3) == 5  # 4.8 rounds to nearest
    assert scaled_channels(16, 0.01) == 1


@pytest.mark.parametrize(
    ("position", "block_index", "expected"),
    [
        ("pre", 0, 3),
        ("pre", 1, 12),
        ("mid", 0, 5),
        ("replace", 2, 5),
        ("branch", 0, 12),
        ("post", 1, 12),
        ("identity", 0, 12),
        ("stage_end", 0, 12),
    ],
)
def test_block_channels_by_position(position: str, block_index: int, expected: int) -> None:
    got = block_channels(position, block_index, in_channels=3, planes=5, out_channels=12)
    assert got == expected


def test_attention_widths_follow_the_selector() -> None:
    shape = stage_shapes(get_backbone("resnet50"), 1.0)[1]  # in 256, planes 128, out 512
    assert shape.attention_widths("pre") == (256, 512)
    assert shape.attention_widths("pre", "first") == (256,)
    assert shape.attention_widths("pre", "last") == (512,)
    assert shape.attention_widths("mid", "alternate") == (128,)
    assert shape.attention_widths("stage_end", "first") == (512,)


def _built_channels(backbone: str, width: float, position: str) -> list[int]:
    """The channels ``ResNet`` asks the factory for, attention at ``position`` everywhere."""
    info = get_backbone(backbone)
    shapes = stage_shapes(info, width)
    seen: list[int] = []

    def factory(name: str, channels: int, **params: Any) -> nn.Module:
        seen.append(channels)
        return nn.Identity()

    stage = {"block": "x", "params": {}, "position": position, "blocks": "all"}
    ResNet(
        style=info.style,
        block=info.block,
        depths=info.depths,
        planes=[s.planes for s in shapes],
        stem=shapes[0].in_channels,
        in_channels=3,
        num_classes=10,
        stages=[stage] * info.num_stages,
        factory=factory,
    )
    return seen


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("backbone", ["resnet20", "resnet50"])
def test_the_builder_gives_each_block_the_rule_s_channels(backbone: str, position: str) -> None:
    """Every slot of every block of every stage is built at ``StageShape.channels_at``."""
    shapes = stage_shapes(get_backbone(backbone), 0.5)
    if position == "stage_end":
        expected = [s.out_channels for s in shapes]
    else:
        expected = [s.channels_at(position, b) for s in shapes for b in range(s.depth)]
    assert _built_channels(backbone, 0.5, position) == expected


def test_rescale_keeps_the_layout_and_validates() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{}, {"block": "se", "params": {"ratio": 8}}, {}]}
    )
    small = spec.with_scale(width=0.25, input_size=28, in_channels=1, num_classes=10)
    assert small.stages == spec.stages
    assert (small.width, small.input_size, small.in_channels, small.num_classes) == (
        0.25,
        28,
        1,
        10,
    )
    assert small == small.validated()


def test_narrowing_keeps_a_reduction_past_the_channels() -> None:
    """Ratio 32 on the 8 channels of width 0.25 is clamped by SE to one hidden channel: the
    rescale keeps it (a proxy ranks the layout it was given), while a spec *written* that
    way is refused."""
    stages = [{}, {"block": "se", "params": {"ratio": 32}}, {}]
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": stages})
    assert spec.problems_at(0.25) and not spec.problems_at(0.25, rules=UNBUILDABLE)
    small = spec.with_scale(width=0.25)
    assert small.width == 0.25 and small.stages == spec.stages
    with pytest.raises(ValueError, match=r"stages\[1\]\.params\.ratio: 32 leaves < 1 of the 8"):
        ArchSpec.from_dict({"backbone": "resnet20", "width": 0.25, "stages": stages})


@pytest.mark.parametrize(
    ("stages", "width", "message"),
    [
        (
            [{"block": "sasa", "params": {"heads": 8}}, {}, {}],
            0.25,
            r"^rescaled to width 0\.25: stages\[0\]\.params\.heads: 8 does not divide the 4 ",
        ),
        (
            [{"block": "sasa", "params": {"heads": 8}}, {}, {}],
            1.25,
            r"^rescaled to width 1\.25: stages\[0\]\.params\.heads: 8 does not divide the 20 ",
        ),
    ],
)
def test_rescale_that_breaks_a_parameter_is_refused(
    stages: list[dict[str, Any]], width: float, message: str
) -> None:
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": stages})
    assert spec.problems_at(width)
    with pytest.raises(ValueError, match=message) as info:
        spec.with_scale(width=width)
    assert "\n" not in str(info.value)
