"""``OPTIMIZERS``: the proxy's optimizers by ``[proxy] optimizer`` name, each with its defaults.

One entry holds everything the name means: the peak learning rate and weight decay a budget
takes when it leaves them unset (tuned at batch 128), and how to build the torch optimizer
over the parameter groups of :func:`workers.recipe.parameter_groups`. A new optimizer is one
``OPTIMIZERS.add`` here; ``ProxyBudget`` validates against it and ``nas train --optimizer``
lists it. This module imports no torch: ``build`` imports it when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from searchspace.registry import Registry

if TYPE_CHECKING:
    import torch

Groups = list[dict[str, object]]


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: its default ``lr`` and ``weight_decay``, and ``build(groups, lr)``."""

    lr: float
    weight_decay: float
    build: Callable[[Groups, float], torch.optim.Optimizer]


def _sgd(groups: Groups, lr: float) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum 0.9 (Sutskever et al., ICML 2013)."""
    import torch

    return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)


def _adamw(groups: Groups, lr: float) -> torch.optim.Optimizer:
    """AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019)."""
    import torch

    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer", default="sgd", sort=False)
"""Optimizer name -> definition, ``sgd`` (the default) first."""

OPTIMIZERS.add("sgd", Optimizer(lr=0.1, weight_decay=5e-4, build=_sgd))
OPTIMIZERS.add("adamw", Optimizer(lr=2e-3, weight_decay=0.05, build=_adamw))
