"""Channel attention: re-weight the C channels of a (B, C, H, W) map from pooled statistics."""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

RATIO = Param("ratio", (4, 8, 16, 32), 16, "reduction", "channel reduction of the bottleneck MLP")

SE = declare(
    BlockInfo(
        name="se",
        family="channel",
        paper="Hu et al., Squeeze-and-Excitation Networks, CVPR 2018, https://arxiv.org/abs/1709.01507",
        params=(RATIO,),
        summary="global average pool, bottleneck MLP, sigmoid gate per channel",
    )
)
