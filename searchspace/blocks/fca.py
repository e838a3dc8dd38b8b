"""Multi-spectral channel attention.

Paper: https://arxiv.org/abs/2012.11879 (citation: :data:`searchspace.catalog.channel.FCA`)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from searchspace.blocks import register


def dct_frequencies(selection: str) -> list[tuple[int, int]]:
    """The ``(u, v)`` frequencies of the 7x7 DCT grid that ``selection`` names.

    ``top``: the paper's ranking of single frequencies by ImageNet accuracy (its one-frequency
    ablation); ``low``: low frequencies first; ``bot``: worst-ranked first. ``top16``
    is the paper's default; ``top1`` is ``(0, 0)``, i.e. SE's global average pooling. The
    tables hold the ``u`` (row) and ``v`` (column) digits of the paper's 32-frequency lists.
    """
    tables = {
        "top": ("00600114513000324635526553342261", "01052020060463526333511242113053"),
        "low": ("00110221203401301234501234561234", "01012012230043154321065432106543"),
        "bot": ("61332412445146256162243355625536", "64466314456522514350311242115333"),
    }
    us, vs = tables[selection[:3]]
    count = int(selection[3:])
    return [(int(u), int(v)) for u, v in zip(us[:count], vs[:count], strict=True)]


def dct_basis(u: int, v: int, size: int) -> Tensor:
    """The orthonormal 2D DCT-II basis image of frequency ``(u, v)``: ``(size, size)``."""
    pos = torch.arange(size, dtype=torch.float64) + 0.5
    scale = [math.sqrt(1.0 / size)] + [math.sqrt(2.0 / size)] * (size - 1)
    row = torch.cos(math.pi * u * pos / size) * scale[u]
    col = torch.cos(math.pi * v * pos / size) * scale[v]
    return torch.outer(row, col).float()


@register("fca")
class FrequencyChannelAttention(nn.Module):
    """SE whose squeeze is a multi-spectral 2D DCT instead of global average pooling.

    ``(B, C, H, W) -> (B, C, H, W)``: adaptive average pooling to the fixed 7x7 DCT grid (the
    paper's ResNet-50 setting; it pools first whenever the map is not 7x7), channel group ``g``
    of ``n`` equal groups projected on DCT basis image ``freq[g]`` (a fixed buffer, as the paper
    finds learnable filters no better) giving ``(B, C)``, bias-free bottleneck MLP with
    ``max(1, C // ratio)`` hidden units, sigmoid, rescale. Channel ``c`` uses frequency
    ``floor(c n / C)``: the paper's equal groups when ``n`` divides ``C``, an even spread of the
    selection otherwise. The projection is an ``einsum``, so the
    cost model counts its ``49 C`` MACs.
    """

    grid = 7
    __constants__ = ("grid",)  # torch.jit.script reads class attributes only as constants

    def __init__(self, channels: int, *, ratio: int = 16, freq: str = "top16") -> None:
        super().__init__()
        frequencies = dct_frequencies(freq)
        groups = torch.tensor([(c * len(frequencies)) // channels for c in range(channels)])
        bases = torch.stack([dct_basis(u, v, self.grid) for u, v in frequencies])
        basis = bases[groups]  # one basis image per frequency, indexed per channel
        self.register_buffer("dct", basis)
        # Declared here, not on the class: torch.jit.script reads class annotations and cannot
        # resolve this module's string ones (``from __future__ import annotations``).
        self.dct: Tensor
        hidden = max(1, channels // ratio)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        pooled = F.adaptive_avg_pool2d(x, self.grid)
        y = torch.einsum("bchw,chw->bc", pooled, self.dct)
        y = self.fc2(self.act(self.fc1(y)))
        return x * torch.sigmoid(y).view(b, c, 1, 1)
