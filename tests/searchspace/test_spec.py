"""Spec parsing, canonical form and validation messages."""

from __future__ import annotations

import json

import pytest

from searchspace.backbones import feature_sizes, get_backbone, stage_shapes
from searchspace.layout import selected_blocks
from searchspace.spec import ArchSpec, StageSpec


def test_defaults_are_filled_in() -> None:
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": [{"block": "se"}, {}, {}]})
    assert spec.input_size == 32
    assert spec.num_classes == 1000
    assert spec.width == 1.0
    assert spec.stages[0] == StageSpec("se", {"ratio": 16}, "branch", "all")
    assert spec.stages[1] == StageSpec()
    assert ArchSpec.from_dict({"backbone": "resnet50"}).input_size == 224


def test_json_round_trip_keeps_the_user_format() -> None:
    text = json.dumps(
        {
            "backbone": "resnet50",
            "width": 1.0,
            "in_channels": 3,
            "num_classes": 1000,
            "input_size": 224,
            "stages": [
                {"block": "se", "params": {"ratio": 16}, "position": "branch", "blocks": "all"},
                {},
                {},
                {},
            ],
        }
    )
    spec = ArchSpec.from_json(text)
    again = ArchSpec.from_json(spec.to_json())
    assert again == spec
    assert set(spec.to_dict()) == {
        "backbone",
        "width",
        "in_channels",
        "num_classes",
        "input_size",
        "stages",
    }
    assert set(spec.to_dict()["stages"][0]) == {"block", "params", "position", "blocks"}


def test_equivalent_specs_share_a_canonical_id() -> None:
    explicit = ArchSpec.from_dict(
        {
            "backbone": "resnet20",
            "stages": [
                {"block": "se", "params": {"ratio": 16}, "position": "branch", "blocks": "all"},
                {"block": "none", "params": {}, "position": "branch", "blocks": "all"},
                {"block": "se", "position": "stage_end", "blocks": "all"},
            ],
        }
    )
    implicit = ArchSpec.from_dict(
        {
            "backbone": "resnet20",
            "width": 1,
            "stages": [{"block": "se"}, {}, {"block": "se", "position": "stage_end"}],
        }
    )
    assert explicit.canonical_id == implicit.canonical_id
    assert explicit == implicit
    assert hash(explicit) == hash(implicit)
    other = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": 8}}, {}, {}]}
    )
    assert other.canonical_id != implicit.canonical_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"backbone": "resnet21"}, "backbone: unknown 'resnet21'; allowed: resnet18"),
        ({}, "backbone: missing"),
        ({"backbone": "resnet20", "stages": [{}, {}]}, "expected 3 entries"),
        ({"backbone": "resnet20", "stages": [{"block": "sse"}, {}, {}]}, "unknown block 'sse'"),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "position": "replace"}, {}, {}]},
            "stages[0].position: 'replace' is not legal for se; allowed: branch",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "position": "middle"}, {}, {}]},
            "'middle' (not an insertion point)",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": 64}}, {}, {}]},
            "stages[0].params.ratio: 64 leaves < 1 of the 16 channels",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "params": {"kernel": 3}}, {}, {}]},
            "stages[0].params: unknown parameter 'kernel' for se; allowed: ratio",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": 0}}, {}, {}]},
            "stages[0].params.ratio: must be >= 1",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": "8"}}, {}, {}]},
            "stages[0].params.ratio: must be one of 4, 8, 16, 32",
        ),
        (
            {"backbone": "resnet20", "stages": [{"block": "se", "blocks": "some"}, {}, {}]},
            "stages[0].blocks: 'some'; allowed: all, first, last, alternate",
        ),
        ({"backbone": "resnet20", "depth": 3}, "spec.depth: unknown key"),
        ({"backbone": "resnet20", "width": 0}, "width: expected a number in (0, 8]"),
        ({"backbone": "resnet20", "num_classes": -1}, "num_classes: expected an integer >= 1"),
        ({"backbone": "resnet20", "stages": [[], {}, {}]}, "stages[0]: expected an object"),
        # given and ignored is an error (issue #15); omitted takes the default
        (
            {
                "backbone": "resnet20",
                "stages": [
                    {},
                    {},
                    {
                        "block": "none",
                        "params": {"ratio": 9999},
                        "position": "nowhere",
                        "blocks": "bogus",
                    },
                ],
            },
            'stages[2].params: block "none" takes no parameters',
        ),
        (
            {"backbone": "resnet20", "stages": [{}, {"block": "none", "position": "post"}, {}]},
            'stages[1].position: block "none" takes no insertion point',
        ),
        (
            {"backbone": "resnet20", "stages": [{}, {"block": "none", "blocks": "first"}, {}]},
            'stages[1].blocks: block "none" takes no block selector',
        ),
        (
            {"backbone": "resnet20", "stages": [{"params": {"ratio": 8}}, {}, {}]},
            "stages[0].params: given without a block, so the stage is 'none'",
        ),
        (
            {"backbone": "resnet20", "stages": [{}, {}, {"position": "post"}]},
            "stages[2].position: given without a block",
        ),
        (
            {
                "backbone": "resnet20",
                "stages": [{"block": "se", "position": "stage_end", "blocks": "first"}, {}, {}],
            },
            "stages[0].blocks: 'first' contradicts position 'stage_end'",
        ),
    ],
)
def test_bad_specs_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        ArchSpec.from_dict(data)
    assert message in str(info.value)


def test_bad_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        ArchSpec.from_json("{backbone: resnet20")


def test_ratio_is_checked_against_the_width_at_its_position() -> None:
    # At width 0.25 resnet20's first stage has 4 channels: ratio 8 cannot fit, ratio 4 can.
    ok = {
        "backbone": "resnet20",
        "width": 0.25,
        "stages": [{"block": "se", "params": {"ratio": 4}}, {}, {}],
    }
    assert ArchSpec.from_dict(ok).stages[0].params == {"ratio": 4}
    bad = {**ok, "stages": [{"block": "se", "params": {"ratio": 8}}, {}, {}]}
    with pytest.raises(ValueError, match="8 leaves < 1 of the 4 channels"):
        ArchSpec.from_dict(bad)


def test_omitted_fields_take_defaults_and_written_ones_read_back() -> None:
    """A stage_end block applies once, so ``blocks`` omitted (or the canonical ``all``) is it."""
    a = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "se", "position": "stage_end"}, {}, {}]}
    )
    assert a.stages[0].blocks == "all"
    # What to_dict writes for a plain stage and a stage_end stage is read back unchanged.
    assert ArchSpec.from_dict(a.to_dict()) == a
    assert a.to_dict()["stages"][1] == {
        "block": "none",
        "params": {},
        "position": "branch",
        "blocks": "all",
    }


def test_every_bad_stage_message_is_one_line() -> None:
    for stage in ({"params": {"ratio": 8}}, {"block": "none", "blocks": "last"}):
        with pytest.raises(ValueError) as info:
            ArchSpec.from_dict({"backbone": "resnet20", "stages": [stage, {}, {}]})
        assert "\n" not in str(info.value) and "stages[0]." in str(info.value)


def test_selectors_pick_blocks() -> None:
    assert selected_blocks("alternate", 5) == (0, 2, 4)
    assert selected_blocks("last", 3) == (2,)
    assert selected_blocks("first", 3) == (0,)
    assert selected_blocks("all", 3) == (0, 1, 2)


def test_backbone_shapes() -> None:
    r50 = get_backbone("resnet50")
    shapes = stage_shapes(r50, 1.0)
    assert [s.out_channels for s in shapes] == [256, 512, 1024, 2048]
    assert shapes[0].channels_at("pre", 0) == 64
    assert shapes[0].channels_at("pre", 1) == 256
    assert shapes[2].channels_at("mid", 0) == 256
    assert feature_sizes(r50, 224) == (56, 28, 14, 7)
    assert feature_sizes(get_backbone("resnet20"), 28) == (28, 14, 7)


def test_spec_module_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import searchspace, searchspace.spec, searchspace.catalog; "
        "searchspace.spec.ArchSpec.from_dict({'backbone': 'resnet50'}); "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
