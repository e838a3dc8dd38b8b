"""Relation-aware global attention, spatial (RGA-S) and channel (RGA-C).

Paper: https://arxiv.org/abs/1904.02998 (citation: :data:`searchspace.catalog.relation.RGA`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register
from searchspace.blocks.cpu_path import cpu_training


def _embed(cin: int, cout: int) -> nn.Sequential:
    """The paper's embedding functions: 1x1 conv, BN, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def _gate(cin: int, ratio: int) -> nn.Sequential:
    """``W``: the two-layer 1x1 conv model from ``[embedded feature, relations]`` to one logit."""
    hidden = max(1, cin // ratio)
    return nn.Sequential(
        _embed(cin, hidden), nn.Conv2d(hidden, 1, 1, bias=False), nn.BatchNorm2d(1)
    )


@register("rga")
class RelationAwareAttention(nn.Module):
    """Attention from each node's relations to all others stacked with its own feature (Sec. 3).

    ``(B, C, H, W) -> (B, C, H, W)``: the input times a sigmoid gate, one per position
    (``variant="spatial"``, RGA-S) or per channel (``"channel"``, RGA-C). Nodes are positions
    (features in R^C) or channels (features in R^HW). For node i, the pairwise relations
    ``r_ij = theta(x_i) . phi(x_j)`` are stacked both ways, ``[r_i., r_.i]``, embedded by 1x1
    conv + BN + ReLU, concatenated with the channel-mean of an embedding of ``x_i`` and mapped
    by ``W`` (two 1x1 convs) to the attention logit. Every embedding reduces by ``ratio``
    (the paper's s = 8).

    The paper's relation vectors and RGA-C's embeddings are sized by the map (H W). The builder
    does not tell blocks their map size, so ``extent`` E fixes them: RGA-S indexes position j
    by its offset ``j - i`` in a ``(2E-1)^2`` window instead of its raster index (zero where
    the window leaves the map), which holds every relation the paper uses when the map is no
    larger than E x E and a translation-equivariant order of them; RGA-C embeds each channel's
    map average-pooled to E x E (the paper's construction when the map is E x E).
    """

    def __init__(
        self, channels: int, *, variant: str = "spatial", ratio: int = 8, extent: int = 7
    ) -> None:
        super().__init__()
        if variant not in ("spatial", "channel"):
            raise ValueError(f"rga: variant must be 'spatial' or 'channel', got {variant!r}")
        self.variant, self.extent = variant, extent
        if variant == "spatial":
            width, relations = channels, (2 * extent - 1) ** 2
        else:
            width, relations = extent * extent, channels
        inner, joint = max(1, width // ratio), max(1, relations // ratio)
        self.theta = _embed(width, inner)
        self.phi = _embed(width, inner)
        self.embed = _embed(width, inner)
        self.relation = _embed(2 * relations, joint)
        self.gate = _gate(1 + joint, ratio)

    def relations(self, x: Tensor) -> Tensor:
        """Stacked out- and in-relations of every node.

        Spatial: ``(B, C, H, W) -> (B, 2 (2E-1)^2, H, W)``, channel ``(dy, dx)`` holding
        ``r_{i,i+o}`` (then ``r_{i+o,i}``) for offset o. Channel: ``(B, E^2, C, 1) ->
        (B, 2C, C, 1)``, channel j of node c holding ``r_cj`` (then ``r_jc``).
        """
        theta, phi = self.theta(x), self.phi(x)
        if self.variant == "channel":
            pairwise = torch.einsum("bnci,bnji->bcj", theta, phi)
            return torch.cat([pairwise.transpose(1, 2), pairwise], dim=1).unsqueeze(-1)
        b, _, h, w = theta.shape
        if cpu_training(self.training, x):
            return self.relations_per_offset(theta, phi)
        out = torch.einsum("bchw,bchwyx->byxhw", theta, self.windows(phi))
        into = torch.einsum("bchwyx,bchw->byxhw", self.windows(theta), phi)
        return torch.cat([out.reshape(b, -1, h, w), into.reshape(b, -1, h, w)], dim=1)

    def relations_per_offset(self, theta: Tensor, phi: Tensor) -> Tensor:
        """RGA-S's relations one window offset at a time, for training on the CPU:
        ``(B, C', H, W)`` x2 ``-> (B, 2 (2E-1)^2, H, W)``, the window einsums' value.

        Channel o holds ``theta_i . phi_{i+o}`` (then ``theta_{i+o} . phi_i``): a product of
        ``theta`` with ``phi``'s zero-padded map shifted by o, summed over channels, without the
        window einsums' copies of ``(2E-1)^2`` shifted maps and their backward through
        ``unfold``. Relations alone, forward and backward at batch 128: 2x at 28 x 28, 2.8x at
        14 x 14; the network of the block trained 1.2x faster on this project's 2-core CPU
        (``bench/block_speed.py``, docs/performance.md).
        """
        h, w = theta.shape[-2:]
        pad, side = self.extent - 1, 2 * self.extent - 1
        theta_padded = F.pad(theta, (pad, pad, pad, pad))
        phi_padded = F.pad(phi, (pad, pad, pad, pad))
        out: list[Tensor] = []
        into: list[Tensor] = []
        for y in range(side):
            for x in range(side):
                out.append((theta * phi_padded[:, :, y : y + h, x : x + w]).sum(1))
                into.append((theta_padded[:, :, y : y + h, x : x + w] * phi).sum(1))
        return torch.cat([torch.stack(out, dim=1), torch.stack(into, dim=1)], dim=1)

    def windows(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, H, W, 2E-1, 2E-1)``: zero-padded offset windows, a view."""
        pad, side = self.extent - 1, 2 * self.extent - 1
        return F.pad(x, (pad, pad, pad, pad)).unfold(2, side, 1).unfold(3, side, 1)

    def forward(self, x: Tensor) -> Tensor:
        nodes = x
        if self.variant == "channel":
            pooled = F.adaptive_avg_pool2d(x, self.extent)
            nodes = pooled.flatten(2).transpose(1, 2).unsqueeze(-1)
        feature = self.embed(nodes).mean(dim=1, keepdim=True)
        logit = self.gate(torch.cat([feature, self.relation(self.relations(nodes))], dim=1))
        if self.variant == "channel":
            logit = logit.transpose(1, 2)
        return x * torch.sigmoid(logit)
