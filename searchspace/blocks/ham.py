"""Hamburger with the NMF ham.

Paper: https://arxiv.org/abs/2109.04553 (citation: :data:`searchspace.catalog.decomposition.HAM`)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from searchspace.blocks import register

EVAL_SEED = 0
"""Seed of the fixed bases the ham starts from outside training (see :class:`Hamburger`)."""

EPS = 1e-6
"""Added to the denominators of the multiplicative updates. A default argument where used:
torch.jit.script reads a default's value, never a module-level number."""


def nmf_step(x: Tensor, bases: Tensor, coef: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """One multiplicative update of ``x ~ bases coef^T`` (Lee & Seung): coefficients, then bases.

    ``x`` ``(B, D, N)`` non-negative, ``bases`` ``(B, D, R)``, ``coef`` ``(B, N, R)``.
    """
    coef = update_coef(x, bases, coef, eps)
    numerator = torch.bmm(x, coef)
    denominator = torch.bmm(bases, torch.bmm(coef.transpose(1, 2), coef))
    return bases * numerator / (denominator + eps), coef


def update_coef(x: Tensor, bases: Tensor, coef: Tensor, eps: float = EPS) -> Tensor:
    """The coefficient half of :func:`nmf_step`: ``C <- C * (X^T D) / (C D^T D)``."""
    numerator = torch.bmm(x.transpose(1, 2), bases)
    denominator = torch.bmm(coef, torch.bmm(bases.transpose(1, 2), bases))
    return coef * numerator / (denominator + eps)


@register("ham")
class Hamburger(nn.Module):
    """``relu(x + upper(NMF(relu(lower(x)))))``: global context as a low-rank reconstruction.

    ``(B, C, H, W) -> (B, C, H, W)``, ``D = C``, ``N = HW``, ``R = rank``. The lower bread is a
    1x1 conv with bias and a ReLU, so the ham's input ``X`` ``(B, D, N)`` is non-negative; the
    ham factors it as ``X ~ bases coef^T`` by NMF (Sec. 2.2.2): bases ``(D, R)`` drawn
    uniform and l2-normalised over D, coefficients initialised to ``softmax_R(X^T bases)``,
    then ``steps`` multiplicative updates of both (:func:`nmf_step`). The upper bread is a
    1x1 conv without bias and BN; the residual add and a ReLU close the block (the reference
    ``Hamburger`` of mmsegmentation's ``ham_head``).

    One-step gradient (Sec. 2.3): the ``steps`` updates run under ``torch.no_grad``; only one
    last coefficient update (the reference ``compute_coef``) is differentiated, so the
    gradient reaches the lower bread through ``X`` but never unrolls the optimisation (which
    the paper shows is unstable).

    Bases: in training each forward draws new random bases, as the reference does. Outside
    training the ham starts from fixed bases (a non-persistent buffer, drawn once from a
    generator seeded with :data:`EVAL_SEED`), so evaluation is deterministic and an exported
    module rebuilds exactly the same bases without them being in ``state_dict``. The reference
    draws random bases at test time too and runs one more step than in training; here
    ``steps`` is the same in both modes, so they compute the same function.
    """

    def __init__(self, channels: int, *, rank: int = 16, steps: int = 6) -> None:
        super().__init__()
        self.rank, self.steps = rank, steps
        self.lower = nn.Conv2d(channels, channels, 1)
        self.upper = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        generator = torch.Generator().manual_seed(EVAL_SEED)
        bases = F.normalize(torch.rand(channels, rank, generator=generator, device="cpu"), dim=0)
        self.register_buffer("bases", bases.to(torch.get_default_device()), persistent=False)
        # Declared here, not on the class: torch.jit.script reads class annotations and cannot
        # resolve this module's string ones (``from __future__ import annotations``).
        self.bases: Tensor

    def initial_bases(self, x: Tensor) -> Tensor:
        """``(B, D, R)``: random bases in training, the fixed ones otherwise."""
        batch, depth = x.shape[0], x.shape[1]
        if self.training:
            random = torch.rand(batch, depth, self.rank, device=x.device, dtype=x.dtype)
            return F.normalize(random, dim=1)
        return self.bases.to(x.dtype).expand(batch, -1, -1)

    def decompose(self, x: Tensor) -> Tensor:
        """``(B, D, N) -> (B, D, N)``: the rank-R NMF reconstruction of non-negative ``x``."""
        with torch.no_grad():
            bases = self.initial_bases(x)
            coef = torch.bmm(x.transpose(1, 2), bases).softmax(dim=-1)
            for _ in range(self.steps):
                bases, coef = nmf_step(x, bases, coef)
        coef = update_coef(x, bases, coef)
        return torch.bmm(bases, coef.transpose(1, 2))

    def forward(self, x: Tensor) -> Tensor:
        ham = self.decompose(self.lower(x).relu().flatten(2)).reshape(x.shape)
        return (x + self.bn(self.upper(ham))).relu()
