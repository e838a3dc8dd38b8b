"""Global context and self-attention: blocks that let every position see (a summary of) all others.

Families follow Guo et al., "Attention mechanisms in computer vision: a survey" (Computational
Visual Media 2022): the non-local family and its cheaper variants (GCNet, CCNet, A²-Net,
EMANet, ANN, SAGAN) are *spatial* attention; DANet's position + channel modules and strip
pooling's H/W strip gates are *channel & spatial* attention.

Placement: modules with a residual form ``x + f(x)`` that the papers insert between residual
blocks or at the end of the backbone take ``stage_end`` (natural) and ``post`` (after a
residual block's add and ReLU, as Wang et al. place non-local blocks inside res4). Blocks whose
cost grows as O((HW)^2) (non-local, SAGAN, DANet) are declared ``late_only``. CCNet
(O(HW(H+W))), A²-Net, EMANet and ANN (O(HW)) are not.
"""

from __future__ import annotations

from searchspace.catalog._base import CHANNEL_POSITIONS, BlockInfo, Param, declare

GLOBAL_POSITIONS: tuple[str, ...] = ("stage_end", "post")
"""Where a residual-form global module sits: after a stage, or after one residual block."""

GC = declare(
    BlockInfo(
        name="gc",
        family="spatial",
        paper=(
            "Cao et al., GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond, "
            "ICCV Workshops 2019, https://arxiv.org/abs/1904.11492"
        ),
        params=(
            Param(
                "ratio", (4, 8, 16, 32), 16, "reduction", "bottleneck reduction of the transform"
            ),
            Param("pooling", ("att", "avg"), "att", "choice", "softmax attention or average pool"),
            Param("fusion", ("add", "mul"), "add", "choice", "add the context or gate by it"),
        ),
        positions=CHANNEL_POSITIONS,
        summary="query-independent softmax pooling, bottleneck with LayerNorm, broadcast add",
    )
)

NONLOCAL = declare(
    BlockInfo(
        name="nonlocal",
        family="spatial",
        paper="Wang et al., Non-local Neural Networks, CVPR 2018, https://arxiv.org/abs/1711.07971",
        params=(
            Param(
                "mode",
                ("embedded_gaussian", "gaussian", "dot_product", "concatenation"),
                "embedded_gaussian",
                "choice",
                "pairwise function f",
            ),
            Param("subsample", (False, True), False, "choice", "2x2 max-pool on phi and g"),
            Param("ratio", (1, 2, 4), 2, "reduction", "inner width = channels // ratio"),
        ),
        positions=GLOBAL_POSITIONS,
        late_only=True,
        summary="all-pairs affinity over HW positions, zero-init BN gamma: identity at init",
    )
)

SAGAN = declare(
    BlockInfo(
        name="sagan",
        family="spatial",
        paper=(
            "Zhang et al., Self-Attention Generative Adversarial Networks, ICML 2019, "
            "https://arxiv.org/abs/1805.08318"
        ),
        positions=GLOBAL_POSITIONS,
        late_only=True,
        summary="softmax self-attention over HW positions, C/8 query/key/value, gamma init 0",
    )
)

CRISS_CROSS = declare(
    BlockInfo(
        name="criss_cross",
        family="spatial",
        paper=(
            "Huang et al., CCNet: Criss-Cross Attention for Semantic Segmentation, ICCV 2019, "
            "https://arxiv.org/abs/1811.11721"
        ),
        params=(
            Param("recurrence", (1, 2), 2, "choice", "passes of the shared criss-cross module"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="attention over each position's row and column (H + W - 1), gamma init 0",
    )
)

DOUBLE_ATTENTION = declare(
    BlockInfo(
        name="double_attention",
        family="spatial",
        paper=(
            "Chen et al., A^2-Nets: Double Attention Networks, NeurIPS 2018, "
            "https://arxiv.org/abs/1810.11579"
        ),
        params=(
            Param("ratio", (2, 4, 8), 4, "reduction", "m = n = channels // ratio descriptors"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="gather n global descriptors by softmax pooling, distribute them per position",
    )
)

EMA = declare(
    BlockInfo(
        name="ema",
        family="spatial",
        paper=(
            "Li et al., Expectation-Maximization Attention Networks for Semantic Segmentation, "
            "ICCV 2019, https://arxiv.org/abs/1907.13426"
        ),
        params=(
            Param("bases", (16, 32, 64), 64, "positive", "number K of bases"),
            Param("iterations", (1, 2, 3), 3, "positive", "EM iterations T"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="EM iterations fit K bases; the input is rebuilt from them (low rank)",
    )
)

ASYM_NONLOCAL = declare(
    BlockInfo(
        name="asym_nonlocal",
        family="spatial",
        paper=(
            "Zhu et al., Asymmetric Non-local Neural Networks for Semantic Segmentation, "
            "ICCV 2019, https://arxiv.org/abs/1908.07678"
        ),
        params=(
            Param("ratio", (2, 4, 8), 2, "reduction", "key and value width = channels // ratio"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="non-local with keys/values pyramid-pooled to 1+9+36+64 = 110 anchors",
    )
)

DUAL = declare(
    BlockInfo(
        name="dual",
        family="channel_spatial",
        paper=(
            "Fu et al., Dual Attention Network for Scene Segmentation, CVPR 2019, "
            "https://arxiv.org/abs/1809.02983"
        ),
        positions=GLOBAL_POSITIONS,
        late_only=True,
        summary="position (HW x HW) and channel (C x C) self-attention summed, gammas init 0",
    )
)

STRIP_POOLING = declare(
    BlockInfo(
        name="strip_pooling",
        family="channel_spatial",
        paper=(
            "Hou et al., Strip Pooling: Rethinking Spatial Pooling for Scene Parsing, "
            "CVPR 2020, https://arxiv.org/abs/2003.13328"
        ),
        positions=("mid", "branch", "pre", "post", "identity", "stage_end"),
        summary="H x 1 and 1 x W strip pools, 1D convs, sum, 1x1 conv, sigmoid gate",
    )
)
