"""Channel & spatial attention (CBAM, BAM) and the ASPP plug-in.

CBAM and BAM are the survey's "channel & spatial" family (Guo et al., "Attention mechanisms in
computer vision: a survey", CVM 2022): a channel gate from pooled statistics combined with a
spatial gate from a small conv. ASPP is not attention in the narrow sense but a context
module that fits where GCNet and Non-local blocks sit, at the end of a stage.
"""

from __future__ import annotations

from searchspace.catalog._base import CHANNEL_POSITIONS, BlockInfo, Param, declare

RATIO = Param("ratio", (4, 8, 16, 32), 16, "reduction", "channel reduction of the gate MLP")

CBAM = declare(
    BlockInfo(
        name="cbam",
        family="channel_spatial",
        paper="Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018, "
        "https://arxiv.org/abs/1807.06521",
        params=(
            RATIO,
            Param("kernel", (3, 7), 7, "odd", "kernel of the spatial gate's conv"),
        ),
        positions=CHANNEL_POSITIONS,
        summary="channel gate from avg+max pooled shared MLP, then spatial gate from a conv "
        "over channel-wise avg and max",
    )
)

BAM = declare(
    BlockInfo(
        name="bam",
        family="channel_spatial",
        paper="Park et al., BAM: Bottleneck Attention Module, BMVC 2018, "
        "https://arxiv.org/abs/1807.06514",
        params=(
            RATIO,
            Param("dilation", (2, 4), 4, "positive", "dilation of the spatial branch's 3x3 convs"),
        ),
        positions=("stage_end", *(p for p in CHANNEL_POSITIONS if p != "stage_end")),
        summary="x * (1 + sigmoid(channel branch + dilated-conv spatial branch)), "
        "between stages in the paper",
    )
)

ASPP_RATES: tuple[str, ...] = ("6-12-18", "1-2-3", "2-4-6")
"""Atrous rates of the three 3x3 branches, as dash-separated strings (specs are JSON)."""

ASPP = declare(
    BlockInfo(
        name="aspp",
        family="plugin",
        paper="Chen et al., Rethinking Atrous Convolution for Semantic Image Segmentation "
        "(DeepLab v3), arXiv 2017, https://arxiv.org/abs/1706.05587",
        params=(
            Param("rates", ASPP_RATES, "6-12-18", "choice", "atrous rates of the 3x3 branches"),
        ),
        positions=("stage_end",),
        summary="1x1, three atrous 3x3 and image-pooling branches, projected back to the "
        "stage's channels and added residually",
    )
)
