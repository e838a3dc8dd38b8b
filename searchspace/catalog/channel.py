"""Channel attention and light-weight channel/spatial hybrids (group A of the catalog).

Families follow Guo et al., "Attention mechanisms in computer vision: a survey", Computational
Visual Media 2022 (https://arxiv.org/abs/2111.07624): channel attention re-weights the C
channels of a ``(B, C, H, W)`` map from pooled statistics; ``channel_spatial`` blocks produce a
gate that varies over channels and positions. All blocks here keep the shape, so they take
every shape-preserving insertion point, SE's ``branch`` first.
"""

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

ECA = declare(
    BlockInfo(
        name="eca",
        family="channel",
        paper="Wang et al., ECA-Net: Efficient Channel Attention for Deep Convolutional Neural "
        "Networks, CVPR 2020, "
        "https://arxiv.org/abs/1910.03151",
        params=(
            Param(
                "kernel",
                (3, 5, 7, 9, "adaptive"),
                "adaptive",
                "odd",
                "1D conv kernel across channels; adaptive: odd |(log2 C + 1) / 2| (paper)",
            ),
        ),
        summary="global average pool, 1D conv across neighbouring channels, sigmoid gate",
    )
)

SRM = declare(
    BlockInfo(
        name="srm",
        family="channel",
        paper="Lee et al., SRM: A Style-based Recalibration Module for Convolutional Neural "
        "Networks, ICCV 2019, "
        "https://arxiv.org/abs/1903.10829",
        summary="style pooling (channel mean and std), channel-wise FC, BN, sigmoid gate",
    )
)

GCT = declare(
    BlockInfo(
        name="gct",
        family="channel",
        paper="Yang et al., Gated Channel Transformation for Visual Recognition, CVPR 2020, "
        "https://arxiv.org/abs/1909.11519",
        params=(
            Param("mode", ("l2", "l1"), "l2", "choice", "norm of the global context embedding"),
        ),
        summary="l2 embedding, channel normalisation, 1 + tanh gate; identity at init",
    )
)

FCA = declare(
    BlockInfo(
        name="fca",
        family="channel",
        paper="Qin et al., FcaNet: Frequency Channel Attention Networks, ICCV 2021, "
        "https://arxiv.org/abs/2012.11879",
        params=(
            RATIO,
            Param(
                "freq",
                ("top1", "top2", "top4", "top8", "top16", "top32", "low16", "bot16"),
                "top16",
                "choice",
                "DCT frequencies of the 7x7 grid: the paper's top/low/bot-k selections",
            ),
        ),
        summary="multi-spectral DCT pooling on a 7x7 grid, bottleneck MLP, sigmoid gate",
    )
)

GSOP = declare(
    BlockInfo(
        name="gsop",
        family="channel",
        paper="Gao et al., Global Second-order Pooling Convolutional Networks, CVPR 2019, "
        "https://arxiv.org/abs/1811.12006",
        params=(
            Param(
                "ratio",
                (2, 4, 8, 16),
                4,
                "reduction",
                "1x1 reduction of the channels before covariance pooling",
            ),
        ),
        summary="1x1 reduce, channel covariance, row-wise conv, 1x1 expand, sigmoid gate",
    )
)

GATHER_EXCITE = declare(
    BlockInfo(
        name="gather_excite",
        family="spatial",
        paper="Hu et al., Gather-Excite: Exploiting Feature Context in Convolutional Neural "
        "Networks, NeurIPS 2018, "
        "https://arxiv.org/abs/1810.12348",
        params=(
            Param("extent", (2, 4, 8, "global"), "global", "choice", "gather extent e"),
            Param(
                "variant",
                ("theta_minus", "theta", "theta_plus"),
                "theta_plus",
                "choice",
                "GE-θ- (average pooling), GE-θ (depthwise convs), GE-θ+ (θ and an SE MLP)",
            ),
        ),
        summary="gather context over extent e, nearest upsample, sigmoid gate per position",
    )
)

COORD = declare(
    BlockInfo(
        name="coord",
        family="channel_spatial",
        paper="Hou et al., Coordinate Attention for Efficient Mobile Network Design, CVPR 2021, "
        "https://arxiv.org/abs/2103.02907",
        params=(
            Param(
                "ratio",
                (8, 16, 32),
                32,
                "positive",
                "reduction of the shared 1x1 conv; it keeps at least 8 channels, as in the paper",
            ),
        ),
        summary="pool along H and along W, shared 1x1 conv, two direction-aware sigmoid gates",
    )
)

SCSE = declare(
    BlockInfo(
        name="scse",
        family="channel_spatial",
        paper="Roy et al., Concurrent Spatial and Channel 'Squeeze & Excitation' in Fully "
        "Convolutional Networks, MICCAI 2018, "
        "https://arxiv.org/abs/1803.02579",
        params=(
            Param(
                "ratio",
                (2, 4, 8, 16),
                2,
                "reduction",
                "cSE bottleneck reduction (the authors use 2)",
            ),
            Param(
                "fusion",
                ("add", "max"),
                "add",
                "choice",
                "how the channel (cSE) and spatial (sSE) outputs combine",
            ),
        ),
        summary="SE channel gate and 1x1-conv spatial gate in parallel, added or max-ed",
    )
)

TRIPLET = declare(
    BlockInfo(
        name="triplet",
        family="channel_spatial",
        paper="Misra et al., Rotate to Attend: Convolutional Triplet Attention Module, "
        "WACV 2021, https://arxiv.org/abs/2010.03045",
        params=(Param("kernel", (3, 5, 7), 7, "odd", "kernel of each branch's 2-to-1 conv"),),
        summary="three branches gate (C, W), (H, C) and (H, W) planes from max+mean pooling",
    )
)
