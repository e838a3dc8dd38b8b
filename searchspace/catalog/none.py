"""The identity choice: a stage without attention."""

from __future__ import annotations

from searchspace.catalog._base import CHANNEL_POSITIONS, BlockInfo, declare

NONE = declare(
    BlockInfo(
        name="none",
        family="none",
        paper="He et al., Deep Residual Learning, CVPR 2016, https://arxiv.org/abs/1512.03385",
        positions=CHANNEL_POSITIONS,
        summary="no attention: the plain residual block",
    )
)
