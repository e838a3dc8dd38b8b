"""Kernel / branch attention that replaces the 3x3 conv of a residual block.

Each of these computes what the 3x3 conv computed, with the same input and output widths and
the same stride, but with weights, receptive fields or sampling positions chosen per input:
SK and CondConv are the survey's branch attention, SASA and deformable convolution its
spatial attention, SCNet's self-calibrated convolution its channel & spatial attention
(Guo et al., "Attention mechanisms in computer vision: a survey", CVM 2022).
"""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

REPLACE = ("replace",)

SK = declare(
    BlockInfo(
        name="sk",
        family="branch",
        paper="Li et al., Selective Kernel Networks, CVPR 2019, https://arxiv.org/abs/1903.06586",
        params=(
            Param("branches", (2, 3), 2, "choice", "3x3 branches with dilation 1, 2, 3"),
            Param("ratio", (4, 8, 16, 32), 16, "reduction", "reduction of the fuse layer"),
            Param("groups", (1, 2, 4, 8), 1, "divisor", "groups of the branch convs"),
        ),
        positions=REPLACE,
        summary="dilated 3x3 branches fused by a softmax over branches per channel",
    )
)

SASA = declare(
    BlockInfo(
        name="sasa",
        family="spatial",
        paper="Ramachandran et al., Stand-Alone Self-Attention in Vision Models, NeurIPS 2019, "
        "https://arxiv.org/abs/1906.05909",
        params=(
            Param("extent", (3, 5, 7), 7, "odd", "side of the local attention window"),
            Param("heads", (1, 2, 4, 8), 8, "divisor", "attention heads"),
        ),
        positions=REPLACE,
        summary="local multi-head self-attention with row/column relative position embeddings",
    )
)

CONDCONV = declare(
    BlockInfo(
        name="condconv",
        family="branch",
        paper="Yang et al., CondConv: Conditionally Parameterized Convolutions for Efficient "
        "Inference, NeurIPS 2019, https://arxiv.org/abs/1904.04971",
        params=(Param("experts", (2, 4, 8), 4, "positive", "expert kernels mixed per sample"),),
        positions=REPLACE,
        summary="3x3 conv whose kernel is a per-sample sigmoid-routed mix of expert kernels",
    )
)

DEFORM = declare(
    BlockInfo(
        name="deform",
        family="spatial",
        paper="Zhu et al., Deformable ConvNets v2: More Deformable, Better Results, CVPR 2019, "
        "https://arxiv.org/abs/1811.11168",
        params=(
            Param("groups", (1, 2, 4), 1, "divisor", "groups of the deformable conv"),
            Param("offset_groups", (1, 2, 4), 1, "divisor", "channel groups sharing offsets"),
        ),
        positions=REPLACE,
        summary="modulated deformable 3x3 conv, offsets and masks from a zero-init 3x3 conv",
    )
)

SCCONV = declare(
    BlockInfo(
        name="scconv",
        family="channel_spatial",
        paper="Liu et al., Improving Convolutional Networks with Self-Calibrated Convolutions, "
        "CVPR 2020, http://mftp.mmcheng.net/Papers/20cvprSCNet.pdf",
        params=(Param("pooling_r", (2, 4), 4, "positive", "down-sampling of the calibration"),),
        positions=REPLACE,
        summary="half the channels through a plain 3x3, half through a 3x3 gated by a "
        "down-sampled context",
    )
)
