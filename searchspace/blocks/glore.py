"""Global reasoning unit.

Paper: https://arxiv.org/abs/1811.12814 (citation: :data:`searchspace.catalog.relation.GLORE`)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from searchspace.blocks import register


class GraphConv(nn.Module):
    """One GCN layer over a fully connected graph of nodes: ``Z = ((I - A_g) V) W_g`` (Sec. 3.2).

    ``(B, S, N) -> (B, S, N)`` for ``S`` state channels of ``N`` nodes. The adjacency ``A_g`` is
    a learned ``N x N`` matrix (a 1x1 conv over the node axis, with bias, as the reference code
    does), ``W_g`` a bias-free ``S x S`` state update, with a ReLU between them. The paper writes
    ``I - A_g``; the sign is absorbed by the learned ``A_g`` (the code adds), so this adds.
    """

    def __init__(self, states: int, nodes: int) -> None:
        super().__init__()
        self.adjacency = nn.Conv1d(nodes, nodes, 1)
        self.act = nn.ReLU(inplace=True)
        self.update = nn.Conv1d(states, states, 1, bias=False)

    def forward(self, v: Tensor) -> Tensor:
        h = self.adjacency(v.transpose(1, 2)).transpose(1, 2) + v
        return self.update(self.act(h))


@register("glore")
class GloRe(nn.Module):
    """Project features to graph nodes, reason over the graph, project back (Fig. 3).

    ``(B, C, H, W) -> (B, C, H, W)``. A 1x1 conv reduces the input to ``S = max(1, C // 2)``
    states and another predicts the projection ``B`` of the HW positions onto ``nodes``
    nodes (the paper's ``C' = C / 2`` states; ``N = C / 4`` nodes in its ResNet, here a declared
    count so it exists at every width). Node features ``V = X B^T`` (``S x N``) pass one
    :class:`GraphConv`; the reverse projection reuses ``B`` (``Y = Z B``), a bias-free 1x1 conv
    extends back to C and a BatchNorm follows, added to the input. Cost O(HW * N * S): linear
    in the positions, so it needs no ``late_only``.
    """

    def __init__(self, channels: int, *, nodes: int = 64) -> None:
        super().__init__()
        states = max(1, channels // 2)
        self.reduce = nn.Conv2d(channels, states, 1)
        self.project = nn.Conv2d(channels, nodes, 1)
        self.gcn = GraphConv(states, nodes)
        self.extend = nn.Conv2d(states, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=1e-4)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        states = self.reduce(x).flatten(2)
        projection = self.project(x).flatten(2)
        nodes = torch.einsum("bsp,bnp->bsn", states, projection)
        reasoned = self.gcn(nodes)
        y = torch.einsum("bsn,bnp->bsp", reasoned, projection).reshape(b, -1, h, w)
        return x + self.bn(self.extend(y))
