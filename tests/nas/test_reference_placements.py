"""Reference designs for the placements the STN and BoTNet papers recommend."""

from __future__ import annotations

from nas.config import SpaceSection
from nas.reference import reference_params
from nas.space import SearchSpace


def _refs() -> dict[str, dict[str, object]]:
    space = SearchSpace(SpaceSection(), in_channels=1, input_size=28, num_classes=10)
    return reference_params(space)


def test_stn_first_warps_the_first_residual_branch_only() -> None:
    stn = _refs()["stn_first"]
    assert stn["s0.block"] == "stn" and stn["s1.block"] == stn["s2.block"] == "none"
    assert stn["s0.stn.position"] == "pre" and stn["s0.stn.blocks"] == "first"
    assert stn["s0.stn.transform"] == "affine"


def test_botnet_last_replaces_every_3x3_conv_of_the_last_stage() -> None:
    bot = _refs()["botnet_last"]
    assert bot["s0.block"] == bot["s1.block"] == "none" and bot["s2.block"] == "mhsa"
    assert bot["s2.mhsa.position"] == "replace" and bot["s2.mhsa.blocks"] == "all"
    assert bot["s2.mhsa.heads"] == 4
