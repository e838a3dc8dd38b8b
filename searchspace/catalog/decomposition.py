"""Global context from a few shared factors: external memories, matrix decomposition and the
disentangled non-local block.

Each of these lets every position see a summary of all others, like the non-local block, but
factors the global interaction differently: external attention (Guo et al.) replaces the
HW x HW affinity by two learnt memories of S slots shared across images, O(HW * S); the
Hamburger (Geng et al.) rebuilds the map from R non-negative bases fitted by NMF, O(HW * R);
the disentangled non-local block (Yin et al.) keeps the O((HW)^2) affinity but splits it into
a whitened pairwise term and a unary term. All three are *spatial* attention in the sense of
Guo et al., "Attention mechanisms in computer vision: a survey" (CVM 2022).

Placement: residual modules ``x + f(x)`` that sit between residual blocks, as their papers put
them on the backbone's output (external attention, HamNet's head) or inside res4 (DNL, after
the non-local block): ``stage_end`` (natural) and ``post``. Only DNL is ``late_only``.
"""

from __future__ import annotations

from searchspace.catalog._base import BlockInfo, Param, declare

GLOBAL_POSITIONS: tuple[str, ...] = ("stage_end", "post")
"""Where a residual-form global module sits: after a stage, or after one residual block."""

EXTERNAL = declare(
    BlockInfo(
        name="external",
        family="spatial",
        paper=(
            "Guo et al., Beyond Self-attention: External Attention using Two Linear Layers for "
            "Visual Tasks, arXiv 2021 (TPAMI 2022), https://arxiv.org/abs/2105.02358"
        ),
        params=(
            Param("memory", (16, 32, 64, 128), 64, "positive", "memory slots S of M_k and M_v"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="two learnt memories M_k, M_v; softmax over positions, then l1 over the slots",
    )
)

HAM = declare(
    BlockInfo(
        name="ham",
        family="spatial",
        paper=(
            "Geng et al., Is Attention Better Than Matrix Decomposition?, ICLR 2021, "
            "https://arxiv.org/abs/2109.04553"
        ),
        params=(
            Param("rank", (8, 16, 32, 64), 16, "positive", "NMF rank R (bases)"),
            Param("steps", (1, 3, 6), 6, "positive", "multiplicative updates K before the last"),
        ),
        positions=GLOBAL_POSITIONS,
        summary="lower bread 1x1, NMF ham (one-step gradient), upper bread 1x1 + BN, residual",
    )
)

DNL = declare(
    BlockInfo(
        name="dnl",
        family="spatial",
        paper=(
            "Yin et al., Disentangled Non-Local Neural Networks, ECCV 2020, "
            "https://arxiv.org/abs/2006.06668"
        ),
        params=(
            Param("ratio", (1, 2, 4), 2, "reduction", "inner width = channels // ratio"),
            Param(
                "temperature",
                (0.05, 1.0),
                0.05,
                "choice",
                "softmax temperature of the pairwise term",
            ),
        ),
        positions=GLOBAL_POSITIONS,
        late_only=True,
        summary="whitened pairwise softmax + unary softmax over HW, zero-init BN: identity at init",
    )
)
