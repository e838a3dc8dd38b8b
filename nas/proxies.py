"""Named candidate proxies: budgets ``nas calibrate --proxies NAME`` measures by name.

A candidate is the keys it changes in the config's ``[proxy]`` (as ``--proxies
NAME:KEY=VALUE,...`` writes them). :data:`GPU_PROXY` is the one ``nas search`` may switch to
when its trials run on CUDA (:mod:`nas.proxy_choice`), and only after a stored calibration
shows it ranking better than the default. Its numbers are a starting point, not a result:
about 6.7 times the default's training images (EcoNAS, Zhou et al., CVPR 2020: more samples
rank better than more epochs for the same cost), which a GPU should train in seconds (not
measured yet: docs/performance.md#gpu). This module imports nothing of the project.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

GPU_PROXY = "gpu"
"""The candidate a search on CUDA may use instead of the CPU-sized default."""

NAMED_PROXIES: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {
        GPU_PROXY: MappingProxyType(
            {"epochs": 4, "train_samples": 10000, "val_samples": 2000, "batch_size": 128}
        ),
    }
)
"""``name -> [proxy] keys replaced``; ``--proxies gpu`` is ``--proxies gpu:epochs=4,...``."""

GPU_REFERENCE_SCALE = 16
"""The ``nas calibrate --scale`` to measure :data:`GPU_PROXY` with: the default reference
(4 x the default proxy's 2,000 images) would train fewer images than the candidate itself."""
