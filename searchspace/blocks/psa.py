"""Point-wise spatial attention.

Paper: https://hszhao.github.io/papers/eccv18_psanet.pdf
(citation: :data:`searchspace.catalog.relation.PSA`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def offset_index(height: int, width: int, extent: int, device: torch.device) -> Tensor:
    """``(HW, HW)``: the over-complete map channel holding offset ``j - i`` for each ``(i, j)``.

    The map has ``(2E-1)^2`` channels, offset ``(dy, dx)`` at channel
    ``(dy + E - 1) * (2E - 1) + dx + E - 1``; pairs farther apart than ``E - 1`` in either
    direction point at channel ``(2E-1)^2``, which the caller fills with ``-inf``.
    """
    side = 2 * extent - 1
    ys = torch.arange(height, device=device).repeat_interleave(width)
    xs = torch.arange(width, device=device).repeat(height)
    dy = ys[None, :] - ys[:, None]
    dx = xs[None, :] - xs[:, None]
    inside = (dy.abs() < extent) & (dx.abs() < extent)
    index = (dy + extent - 1) * side + dx + extent - 1
    return torch.where(inside, index, torch.full_like(index, side * side))


class PointwiseBranch(nn.Module):
    """One PSA branch: reduce, predict each position's over-complete map, aggregate (Sec. 3.2).

    ``(B, C, H, W) -> (B, C', H, W)``. ``collect``: the map predicted at position i weighs the
    sources j that i gathers from, ``a_{i,j} = map_i[j - i]``; ``distribute``: the map predicted
    at j says how j spreads to the targets i, ``a_{i,j} = map_j[i - j]``. Both are normalised
    by a softmax over j (the authors' code; the paper writes ``1/N``).
    """

    def __init__(self, channels: int, reduced: int, extent: int, distribute: bool) -> None:
        super().__init__()
        self.extent, self.distribute = extent, distribute
        self.reduce = _conv_bn_relu(channels, reduced)
        self.attention = nn.Sequential(
            _conv_bn_relu(reduced, reduced),
            nn.Conv2d(reduced, (2 * extent - 1) ** 2, 1, bias=False),
        )

    def affinity(self, x: Tensor) -> Tensor:
        """``(B, C', H, W) -> (B, HW, HW)``: rows are targets i, normalised over sources j.

        Row r of the gathered maps holds ``map_r[j - r]`` for every j: the collect affinity as
        it is, the distribute one (``map_j[i - j]``) once transposed.
        """
        b, _, h, w = x.shape
        index = offset_index(h, w, self.extent, x.device)
        if cpu_training(self.training, x):
            logits = self.read_logits(x, index)
        else:
            maps = self.attention(x).flatten(2).transpose(1, 2)
            maps = torch.cat([maps, maps.new_full((b, h * w, 1), float("-inf"))], dim=2)
            logits = torch.gather(maps, 2, index.expand(b, -1, -1))
        if self.distribute:
            logits = logits.transpose(1, 2)
        return logits.softmax(dim=2)

    def read_logits(self, x: Tensor, index: Tensor) -> Tensor:
        """``(B, HW, HW)``: ``map_r[j - r]`` computed for the offsets read only, for training
        on the CPU.

        The map's last layer is a bias-free 1x1 conv, so ``map_r[o] = W_o . h_r``: the rows of
        ``W`` at the read offsets, ``(HW, HW, C')``, times each position's hidden feature give
        the gathered logits without the ``(2E-1)^2``-channel map (729 channels at E = 14, 3.7x
        the logits read from it on a 14 x 14 map) or its copy with a ``-inf`` column. On this
        project's 2-core CPU a training step of a network of the block took a quarter of the
        time (3.9x; ``bench/block_speed.py``, docs/performance.md). In eval mode, without
        autograd (the cost model counts the conv's multiply-accumulates) and on CUDA the map is
        computed.
        """
        hidden = self.attention[0](x).flatten(2)  # (B, C', HW)
        weight = self.attention[1].weight  # the bias-free 1x1 conv making the map
        assert isinstance(weight, Tensor), "psa: the map layer has a weight tensor"
        weight = weight.flatten(1)  # ((2E-1)^2, C')
        rows = torch.cat([weight, weight.new_zeros(1, weight.shape[1])])[index]
        logits = torch.einsum("ijc,bci->bij", rows, hidden)
        outside = index == weight.shape[0]  # farther than E - 1: the map's -inf column
        return logits.masked_fill(outside, float("-inf")) if bool(outside.any()) else logits

    def forward(self, x: Tensor) -> Tensor:
        reduced = self.reduce(x)
        out = torch.einsum("bij,bcj->bci", self.affinity(reduced), reduced.flatten(2))
        return out.reshape(reduced.shape)


@register("psa")
class PointwiseSpatialAttention(nn.Module):
    """PSANet's bi-directional point-wise spatial attention as a residual block.

    ``(B, C, H, W) -> (B, C, H, W)``. Each branch (``mode``: ``bi`` both, or ``collect`` /
    ``distribute`` alone, the paper's ablation) reduces to ``C' = max(1, C // ratio)`` (the
    paper: 2048 -> 512), predicts per position an over-complete ``(2E-1) x (2E-1)`` map of
    logits over relative offsets and aggregates the reduced features by it, O((HW)^2). The
    paper sizes the map by the fixed crop (``E = H``); the builder does not know the map size,
    so ``extent`` E is declared: every map no larger than E x E is attended globally, as in the
    paper; on a larger one each position sees its (2E-1)^2 neighbourhood. The branch outputs
    are concatenated, projected back to C by a 1x1 conv and BN and added to the input (the
    paper concatenates them with the input for its segmentation head). The BN's gamma starts
    at zero, as the non-local block's, so the block is the identity at initialisation.
    """

    def __init__(
        self, channels: int, *, ratio: int = 4, mode: str = "bi", extent: int = 14
    ) -> None:
        super().__init__()
        if mode not in ("bi", "collect", "distribute"):
            raise ValueError(f"psa: mode must be bi, collect or distribute, got {mode!r}")
        reduced = max(1, channels // ratio)
        kinds = {"bi": (False, True), "collect": (False,), "distribute": (True,)}[mode]
        self.branches = nn.ModuleList(
            PointwiseBranch(channels, reduced, extent, distribute) for distribute in kinds
        )
        self.project = nn.Conv2d(reduced * len(kinds), channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)

    def forward(self, x: Tensor) -> Tensor:
        features = torch.cat([branch(x) for branch in self.branches], dim=1)
        return x + self.bn(self.project(features))
