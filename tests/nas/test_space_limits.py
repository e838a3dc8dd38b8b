"""A ``[space]`` that loses a block it names, or leaves nothing to search, says so."""

from __future__ import annotations

import pytest

from nas.config import SearchConfig
from nas.space import SearchSpace

SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}


def _space(raw: dict[str, object], proxy_width: float | None = 0.5) -> SearchSpace:
    config = SearchConfig.from_dict({"space": raw})
    return SearchSpace(config.space, **SHAPE, proxy_width=proxy_width)


def test_a_block_left_out_of_some_stages_is_a_note() -> None:
    # resnet20's stage 0 has 16 channels, 8 at the proxy's width 0.5: an SE ratio of 16
    # cannot reduce 8 channels; stage 2 (64, 32 at the proxy's width) takes it.
    space = _space({"blocks": ["none", "se"], "params": {"se": {"ratio": [16]}}})
    assert "se" not in space.stages[0].blocks and "se" in space.stages[2].blocks
    assert any(
        n.startswith("space: se left out of stage 0: se.ratio: [16] fit none") for n in space.notes
    )
    assert "space: stage 0 has no block to choose, only none" in space.notes


def test_blocks_the_config_does_not_name_are_narrowed_silently() -> None:
    assert _space({}).notes == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"params": {"se": {"ratio": [3000]}}},
            r"^space: se can go in no searched stage \(stage 0: ",
        ),
        ({"blocks": ["nonlocal"], "stages": [0]}, r"nonlocal is for late stages only \(1 and up\)"),
        ({"blocks": ["none"]}, r"^space: nothing to search: every searched stage has one choice"),
        (
            {
                "blocks": ["se"],
                "params": {"se": {"ratio": [4]}},
                "positions": ["branch"],
                "selectors": ["all"],
            },
            r"^space: nothing to search",
        ),
    ],
)
def test_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _space(raw)
