"""Stand-alone local aggregation that replaces the 3x3 conv: local relation and SAN.

Like SASA (:mod:`searchspace.catalog.kernel`), both compute each output pixel from a window
around it with weights derived from the features in that window, not from a fixed kernel:
the local relation layer (Hu et al.) from a key/query appearance term plus a learnt
geometric prior, SAN (Zhao et al.) from a small network over pairs (pairwise) or over the
whole patch (patchwise). Both are *spatial* attention (Guo et al., "Attention mechanisms in
computer vision: a survey", CVM 2022). Their cost is O(HW * extent^2), so they are not
``late_only``; ``share`` channels share one set of aggregation weights, as in both papers.
"""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

REPLACE = ("replace",)

SHARE = Param("share", (4, 8), 8, "divisor", "channels that share one aggregation weight")

LOCAL_RELATION = declare(
    BlockInfo(
        name="local_relation",
        family="spatial",
        paper=(
            "Hu et al., Local Relation Networks for Image Recognition, ICCV 2019, "
            "https://arxiv.org/abs/1904.11491"
        ),
        params=(
            Param("extent", (3, 5, 7), 7, "odd", "side k of the k x k aggregation window"),
            SHARE,
        ),
        positions=REPLACE,
        summary="softmax over the window of -(q - k)^2 plus a learnt geometric prior, 1x1 out",
    )
)

SAN = declare(
    BlockInfo(
        name="san",
        family="spatial",
        paper=(
            "Zhao et al., Exploring Self-attention for Image Recognition, CVPR 2020, "
            "https://arxiv.org/abs/2004.13621"
        ),
        params=(
            Param("variant", ("pairwise", "patchwise"), "patchwise", "choice", "SAN's two forms"),
            Param("extent", (3, 5, 7), 7, "odd", "side of the footprint"),
            SHARE,
        ),
        positions=REPLACE,
        summary="vector attention over the footprint from pair differences or the whole patch",
    )
)
