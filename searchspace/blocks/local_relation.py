"""Local relation layer.

Paper: https://arxiv.org/abs/1904.11491
(citation: :data:`searchspace.catalog.stand_alone.LOCAL_RELATION`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training

PRIOR_HIDDEN = 16
"""Least width of the geometric prior's hidden layer (the paper does not state it)."""


def local_windows(x: Tensor, extent: int, stride: int = 1, mode: str = "constant") -> Tensor:
    """Each ``stride``-th pixel's ``extent x extent`` neighbourhood: ``(B, C, H', W', k, k)``.

    ``H' = ceil(H / stride)``, window ``(i, j)`` centred on pixel ``(stride i, stride j)``; the
    map is padded by ``extent // 2`` with ``mode`` (``F.pad``'s: zeros or ``replicate``). The
    windows are strided views of the padded map (``Tensor.unfold``), not an im2col copy.
    """
    pad = extent // 2
    padded = F.pad(x, (pad, pad, pad, pad), mode=mode)
    return padded.unfold(2, extent, stride).unfold(3, extent, stride)


def sum_over_windows(
    weights: list[Tensor], padded: Tensor, extent: int, stride: int, rows: int, cols: int
) -> Tensor:
    """``sum_n weights[n] * shifted_n``: each output pixel's window of ``padded`` (a map padded
    by ``extent // 2``, ``(..., H + 2p, W + 2p)``) weighted per window offset ``n = i k + j``,
    one multiply-add of a shifted view per offset; ``weights[n]`` broadcasts against
    ``(..., rows, cols)``.

    What ``einsum(weights, local_windows(x))`` computes, without the ``k * k`` times larger
    copy of the windows the einsum makes (and its backward makes again): the faster of the two
    for training on a CPU (docs/performance.md, "Local-window blocks ..."). Pass the weights
    as ``Tensor.unbind`` gives them: the backward of one ``unbind`` is one ``stack``, where
    indexing a tensor per offset would fill a whole-size zero gradient per offset.
    """
    assert len(weights) == extent * extent, (len(weights), extent)
    last_row, last_col = stride * (rows - 1) + 1, stride * (cols - 1) + 1
    out = weights[0] * padded[..., :last_row:stride, :last_col:stride]
    for n in range(1, extent * extent):
        i, j = n // extent, n % extent
        shifted = padded[..., i : i + last_row : stride, j : j + last_col : stride]
        out = torch.addcmul(out, weights[n], shifted)
    return out


def window_offsets(extent: int, device: torch.device) -> Tensor:
    """``(2, k, k)``: the (row, column) offset ``p - p'`` of every window position."""
    steps = torch.arange(extent, device=device, dtype=torch.float32) - extent // 2
    rows, cols = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([rows, cols])


@register("local_relation")
class LocalRelation(nn.Module):
    """Aggregate each window by weights from appearance composability and a geometric prior.

    ``(B, C, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))`` (Sec. 3, Fig. 2). The C
    channels form ``G = C / share`` groups of ``share`` channels (contiguous) that share one
    aggregation weight. Query and key maps are 1x1 convs ``C -> G`` without bias; output pixel
    ``p'`` weighs its ``k x k`` neighbours ``p`` by

        ``w(p', p) = softmax_p(-(q_p' - k_p)^2 + g(p - p'))``

    per group: the squared-difference composability of the paper's default, plus the
    geometric prior ``g``, a two-layer 1x1 network (ReLU between, hidden width
    ``max(PRIOR_HIDDEN, G)``) on the 2-D relative position, shared by all pixels. The weights
    aggregate the input itself, ``y_p' = sum_p w(p', p) x_p``, and a 1x1 conv ``C -> C``
    without bias (the layer's final channel transformation) gives the output.

    Zero-padded neighbours outside the map are masked out, so every pixel's weights sum to one
    (the paper does not say how borders are treated). ``stride`` 2 computes only every second
    pixel's window, the strided layer of a downsampling block.
    """

    def __init__(self, channels: int, *, extent: int = 7, share: int = 8, stride: int = 1) -> None:
        super().__init__()
        if channels % share:
            raise ValueError(f"local_relation: share={share} must divide the {channels} channels")
        if extent < 1 or extent % 2 == 0:
            raise ValueError(f"local_relation: extent must be an odd window side, got {extent}")
        groups = channels // share
        self.extent, self.share, self.stride = extent, share, stride
        self.query = nn.Conv2d(channels, groups, 1, bias=False)
        self.key = nn.Conv2d(channels, groups, 1, bias=False)
        hidden = max(PRIOR_HIDDEN, groups)
        self.prior_hidden = nn.Conv2d(2, hidden, 1)
        self.prior_out = nn.Conv2d(hidden, groups, 1)
        self.project = nn.Conv2d(channels, channels, 1, bias=False)

    def geometric_prior(self, device: torch.device) -> Tensor:
        """``(G, k, k)``: the learnt logit of every relative position."""
        offsets = window_offsets(self.extent, device).to(self.prior_hidden.weight.dtype)
        offsets = offsets.unsqueeze(0)
        return self.prior_out(self.prior_hidden(offsets).relu())[0]

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        k, s = self.extent, self.stride
        q = self.query(x[:, :, ::s, ::s])
        keys = local_windows(self.key(x), k, s)
        inside = local_windows(x.new_ones(1, 1, h, w), k, s)[0, 0] > 0
        prior = self.geometric_prior(x.device)[:, None, None]  # (G, 1, 1, k, k)
        bias = prior.masked_fill(~inside, float("-inf"))  # (G, H', W', k, k): borders masked
        logits = bias - (q[..., None, None] - keys).square()
        groups, rows, cols = logits.shape[1:4]
        attn = logits.flatten(4).softmax(dim=4)  # (B, G, H', W', k * k)
        if cpu_training(self.training, x):
            out = self.aggregate_per_offset(attn, x, rows, cols)
        else:
            attn = attn.reshape(b, groups, rows, cols, k, k)
            values = local_windows(x, k, s).reshape(b, groups, self.share, rows, cols, k, k)
            out = torch.einsum("bghwij,bgshwij->bgshw", attn, values)
        return self.project(out.reshape(b, c, rows, cols))

    def aggregate_per_offset(self, attn: Tensor, x: Tensor, rows: int, cols: int) -> Tensor:
        """``sum_p w(p', p) x_p`` by :func:`sum_over_windows`, ``(B, G, share, H', W')``: the
        einsum's value without its 49x window copy, for training on the CPU.

        On this project's 2-core CPU a training step of a network of the block took half the
        time (``bench/block_speed.py``, docs/performance.md). On CUDA, on the meta device (the
        cost model counts the einsum's multiply-accumulates), in eval mode (evaluation,
        tracing, export) and without autograd the einsum stays.
        """
        b, c, h, w = x.shape
        pad = self.extent // 2
        padded = F.pad(x, (pad, pad, pad, pad))
        padded = padded.view(b, c // self.share, self.share, h + 2 * pad, w + 2 * pad)
        weights = list(attn.permute(4, 0, 1, 2, 3).unsqueeze(3).unbind(0))  # (B, G, 1, H', W')
        return sum_over_windows(weights, padded, self.extent, self.stride, rows, cols)
