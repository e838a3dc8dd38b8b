"""The search's registries in one place: what a ``nas search`` config may name.

Each is a :class:`searchspace.registry.Registry`; adding an entry is one registration in the
file that holds its kind, and the config checks, ``nas search --help`` and the docs read the
names from here:

- :data:`SAMPLERS`: ``@register("name")`` in ``nas/sampling/catalog.py``;
- :data:`PRUNERS`: ``@register("name")`` in ``nas/pruning/catalog.py``;
- :data:`OBJECTIVES`: ``@register_objective("name", ...)`` in ``nas/objectives.py``;
- :data:`SIGNALS`: ``SIGNALS.add("name", Signal(...))`` in ``workers/signals.py``;
- :data:`DATASETS`: ``@register("name")`` on a module of ``workers/datasets/``;
- :data:`OPTIMIZERS`: ``OPTIMIZERS.add("name", Optimizer(...))`` in ``workers/optimizers.py``.

Importing this module imports neither torch nor Optuna: the dataset formats, optimizers and
signals import torch when one is used, and the sampler and pruner catalogs import Optuna inside
their factories, so ``nas --help`` and ``nas space``, which list and check names, start without
either (tests/nas/test_cli_startup.py).
"""

from __future__ import annotations

from nas.objectives import OBJECTIVES
from nas.pruning import PRUNERS
from nas.sampling import SAMPLERS
from workers.datasets import DATASETS
from workers.optimizers import OPTIMIZERS
from workers.signals import SIGNALS

__all__ = ["DATASETS", "OBJECTIVES", "OPTIMIZERS", "PRUNERS", "SAMPLERS", "SIGNALS"]
