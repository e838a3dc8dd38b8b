"""``searchspace.examples.block_everywhere``: one spec per block, legal wherever it can be."""

from __future__ import annotations

import pytest

from searchspace.blocks import registered_blocks
from searchspace.catalog import block_info
from searchspace.examples import block_everywhere


@pytest.mark.parametrize("name", sorted(registered_blocks()))
def test_every_block_has_its_example_in_every_stage_it_may_take(name: str) -> None:
    spec = block_everywhere(name)
    depth = len(spec.stages)
    if name == "none":
        assert {s.block for s in spec.stages} == {"none"}
        return
    info = block_info(name)
    for index, stage in enumerate(spec.stages):
        wanted = name if info.is_legal_stage(index, depth) else "none"
        assert stage.block == wanted, (index, stage)
    assert spec.width in (0.5, 1.0)


def test_the_narrowest_width_that_holds_the_defaults() -> None:
    assert block_everywhere("eca").width == 0.5
    assert block_everywhere("se").width == 1.0, "ratio 16 needs 16 channels in stage 0"
    late = block_everywhere("nonlocal")
    assert [s.block for s in late.stages] == ["none", "nonlocal", "nonlocal"]
    assert len(block_everywhere("none", backbone="resnet50").stages) == 4


def test_an_unknown_block_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown"):
        block_everywhere("no-such-block")
