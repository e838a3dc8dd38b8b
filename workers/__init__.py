"""Train and evaluate one proxy model for one spec, on real data; knows nothing of Optuna.

- :mod:`workers.budget`: :class:`ProxyBudget`, the proxy's scale and training recipe.
- :mod:`workers.data`: :class:`DataConfig`, :func:`dataset_shape` (no torch).
- :mod:`workers.splits`: :func:`load_splits`, the seeded split batched on a device.
- :mod:`workers.train`: :func:`train_proxy`, the plain Python + torch loop with a callback.
- :mod:`workers.trainable`: :func:`proxy_trainable`, the thin Ray Tune wrapper.
- :mod:`workers.failures`: :class:`TrainingFailed`, why a proxy could not be trained.

Only this package's light modules are imported here; torch-heavy ones are imported explicitly.
"""

from __future__ import annotations

from workers.budget import ProxyBudget

__all__ = ["ProxyBudget"]
