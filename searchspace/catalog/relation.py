"""Relation and reasoning blocks: point-wise spatial attention (PSANet), relation-aware
global attention (RGA), BoTNet's multi-head self-attention and graph reasoning (GloRe).

Families follow Guo et al., "Attention mechanisms in computer vision: a survey" (CVM 2022):
all four weigh positions (or channels) by learned relations, *spatial* attention except RGA,
which has a spatial and a channel variant (*channel & spatial*).

Map size: PSANet sizes its over-complete attention map, RGA its relation vectors and BoTNet
its relative position embeddings by the feature map, which the papers fix by their crop. The
builder gives a block only its channels, so these blocks index relations by *offset* within a
declared window (``extent``; BoTNet a fixed maximum): on a map no larger than the window they
are the papers' global constructions, on a larger one they see the window around each position.

Placement: PSANet is O((HW)^2) and declared ``late_only`` (the paper puts it on the last,
dilated stage); RGA follows every stage in the paper; with its windowed relations it costs
O(HW * extent^2), so it is not ``late_only``. MHSA replaces the 3x3 conv of the last stage
(BoTNet's c5), also O((HW)^2) and ``late_only``. GloRe is O(HW * nodes) and sits where
non-local blocks do.
"""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

GLOBAL_POSITIONS: tuple[str, ...] = ("stage_end", "post")

PSA = declare(
    BlockInfo(
        name="psa",
        family="spatial",
        paper=(
            "Zhao et al., PSANet: Point-wise Spatial Attention Network for Scene Parsing, "
            "ECCV 2018, https://hszhao.github.io/papers/eccv18_psanet.pdf"
        ),
        params=(
            Param("ratio", (2, 4, 8), 4, "reduction", "reduced width = channels // ratio"),
            Param(
                "mode",
                ("bi", "collect", "distribute"),
                "bi",
                "choice",
                "both branches (the paper's bi-direction) or one of them",
            ),
            Param("extent", (7, 14, 28), 14, "positive", "largest map side attended globally"),
        ),
        positions=GLOBAL_POSITIONS,
        late_only=True,
        summary="each position predicts its (2E-1)^2 over-complete map: collect and distribute",
    )
)

RGA = declare(
    BlockInfo(
        name="rga",
        family="channel_spatial",
        paper=(
            "Zhang et al., Relation-Aware Global Attention for Person Re-identification, "
            "CVPR 2020, https://arxiv.org/abs/1904.02998"
        ),
        params=(
            Param("variant", ("spatial", "channel"), "spatial", "choice", "RGA-S or RGA-C"),
            Param("ratio", (4, 8, 16), 8, "reduction", "the paper's s: every embedding's ratio"),
            Param("extent", (7, 14), 7, "positive", "relation window side (spatial pooling grid)"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="stacked pairwise relations + embedded feature -> small convs -> sigmoid gate",
    )
)

MHSA = declare(
    BlockInfo(
        name="mhsa",
        family="spatial",
        paper=(
            "Srinivas et al., Bottleneck Transformers for Visual Recognition, CVPR 2021, "
            "https://arxiv.org/abs/2101.11605"
        ),
        params=(Param("heads", (1, 2, 4, 8), 4, "divisor", "attention heads"),),
        positions=("replace",),
        late_only=True,
        summary="global multi-head self-attention with 2-D relative position logits",
    )
)

GLORE = declare(
    BlockInfo(
        name="glore",
        family="spatial",
        paper=(
            "Chen et al., Graph-Based Global Reasoning Networks, CVPR 2019, "
            "https://arxiv.org/abs/1811.12814"
        ),
        params=(Param("nodes", (16, 32, 64, 128), 64, "positive", "interaction-graph nodes N"),),
        positions=GLOBAL_POSITIONS,
        summary="project to N nodes, GCN over nodes and states, reproject, residual add",
    )
)
