"""Local relation layer.

Paper: https://arxiv.org/abs/1904.11491
(citation: :data:`searchspace.catalog.stand_alone.LOCAL_RELATION`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

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
        if self.training and torch.is_grad_enabled() and x.device.type == "cpu":
            out = self.aggregate_per_offset(attn, x, rows, cols)
        else:
            attn = attn.reshape(b, groups, rows, cols, k, k)
            values = local_windows(x, k, s).reshape(b, groups, self.share, rows, cols, k, k)
            out = torch.einsum("bghwij,bgshwij->bgshw", attn, values)
        return self.project(out.reshape(b, c, rows, cols))

    def aggregate_per_offset(self, attn: Tensor, x: Tensor, rows: int, cols: int) -> Tensor:
        """``sum_p w(p', p) x_p`` as one multiply-add of a shifted map per window offset:
        ``(B, G, share, H', W')``, the einsum's value, for training on the CPU.

        The einsum reads every pixel's ``k x k`` window of ``x`` as one strided view, which it
        copies into a ``k * k`` times larger tensor before its batched product, and its backward
        does so again; here no tensor is larger than the output. On this project's 2-core CPU
        a training step (forward and backward) of the layer took 1.4-2.5x less time
        (``bench/block_speed.py``, docs/performance.md). On CUDA, on the meta device (the cost
        model counts the einsum's multiply-accumulates), in eval mode (evaluation, tracing,
        export) and without autograd the einsum stays.
        """
        b, c, h, w = x.shape
        k, s = self.extent, self.stride
        pad = k // 2
        padded = F.pad(x, (pad, pad, pad, pad))
        padded = padded.view(b, c // self.share, self.share, h + 2 * pad, w + 2 * pad)
        weights = attn.permute(4, 0, 1, 2, 3).unsqueeze(3).unbind(0)  # k*k of (B, G, 1, H', W')
        out = weights[0] * padded[..., : s * (rows - 1) + 1 : s, : s * (cols - 1) + 1 : s]
        for n in range(1, k * k):
            i, j = n // k, n % k
            shifted = padded[..., i : i + s * (rows - 1) + 1 : s, j : j + s * (cols - 1) + 1 : s]
            out = torch.addcmul(out, weights[n], shifted)
        return out
