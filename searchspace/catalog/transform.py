"""Blocks that transform the feature map as a whole: a learned warp (STN) and a mask branch
with its own trunk (Residual Attention).

Families follow Guo et al., "Attention mechanisms in computer vision: a survey" (CVM 2022):
the spatial transformer is *spatial* attention (it selects where to look by warping);
the Residual Attention Network's 3-D soft mask is *channel & spatial* attention.

Placement: both act on the whole stream, so their natural point is ``stage_end`` (between
residual units, as the papers place them). An STN may also sit on a residual branch's input
(``pre``), the closest point to "immediately following the input" that the ResNet offers
inside a stage: ``pre`` on the first block of stage 0 warps what the first residual branch
sees. Residual attention modules also fit after a block's add (``post``).
"""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

STN = declare(
    BlockInfo(
        name="stn",
        family="spatial",
        paper=(
            "Jaderberg et al., Spatial Transformer Networks, NeurIPS 2015, "
            "https://arxiv.org/abs/1506.02025"
        ),
        params=(
            Param(
                "transform",
                ("affine", "attention"),
                "affine",
                "choice",
                "6-parameter affine, or the paper's attention (isotropic scale + translation)",
            ),
            Param("hidden", (16, 32, 64), 32, "positive", "units of the localisation net"),
        ),
        positions=("stage_end", "pre"),
        summary="localisation net -> theta -> affine grid -> bilinear sampling; identity at init",
    )
)


RESIDUAL_ATTENTION = declare(
    BlockInfo(
        name="residual_attention",
        family="channel_spatial",
        paper=(
            "Wang et al., Residual Attention Network for Image Classification, CVPR 2017, "
            "https://arxiv.org/abs/1704.06904"
        ),
        params=(
            Param("depth", (1, 2, 3), 2, "choice", "max-pool/upsample levels of the mask branch"),
        ),
        positions=("stage_end", "post"),
        summary="trunk of 2 residual units, bottom-up top-down soft mask M, output (1 + M) * T",
    )
)
