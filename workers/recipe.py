"""The proxy's optimisation recipe: optimizer, parameter groups and learning-rate schedule.

- SGD with Nesterov momentum 0.9 (Sutskever et al., ICML 2013) or AdamW (Loshchilov and
  Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).
- Weight decay on conv and linear weights only: norms and biases are exempt (Goyal et al.,
  "Accurate, Large Minibatch SGD", 2017, section 5.1 and its "no bias decay" follow-ups), since
  decaying a norm's scale only fights the normalisation.
- Linear warm-up from 0 (Goyal et al.) then cosine decay to 0 (Loshchilov and Hutter, SGDR,
  ICLR 2017), stepped per batch so a 4-epoch proxy still sees the whole curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from workers.budget import ProxyBudget
from workers.optimizers import OPTIMIZERS


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two groups: weights of rank >= 2 (decayed) and norms/biases/gates of rank <= 1 (not)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, budget: ProxyBudget) -> torch.optim.Optimizer:
    assert budget.optimizer in OPTIMIZERS, budget.optimizer
    build = OPTIMIZERS[budget.optimizer].build
    return build(parameter_groups(model, budget.decay), budget.peak_lr)


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR factor at step ``s``: ``(s + 1) / warmup`` while warming up, then cosine to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def make_schedule(
    optimizer: torch.optim.Optimizer, budget: ProxyBudget, steps_per_epoch: int
) -> LambdaLR:
    total = budget.epochs * steps_per_epoch
    warmup = round(budget.warmup_fraction * total)
    return LambdaLR(optimizer, warmup_cosine(total, warmup))
