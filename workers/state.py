"""Everything needed to resume a proxy run at its next epoch, saved beside ``model.pt``.

``model.pt`` is the plain ``state_dict`` of the proxy model (loadable with
``torch.load(path, weights_only=True)`` into ``build_model(proxy_spec)``); ``train_state.pt``
holds the optimizer, the schedule, the batch-order/augmentation generator and the history, so
a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

MODEL_FILE = "model.pt"
STATE_FILE = "train_state.pt"


@dataclass
class TrainState:
    """A proxy run after ``epoch`` completed epochs.

    Attributes:
        epoch: completed epochs (the run resumes at ``epoch + 1``).
        model: the proxy's ``state_dict`` (on CPU).
        optimizer: the optimizer's ``state_dict``.
        schedule: the LR schedule's ``state_dict``.
        generator: state of the CPU generator that orders batches and draws augmentation.
        history: the per-epoch metrics reported so far.
        wall_time_s: training wall time spent so far.
    """

    epoch: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    schedule: dict[str, Any]
    generator: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def best_val_accuracy(self) -> float:
        return max((m["val_accuracy"] for m in self.history), default=0.0)

    def save(self, directory: str | Path) -> None:
        """Write ``model.pt`` and ``train_state.pt`` into ``directory`` (created if needed)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.model, path / MODEL_FILE)
        rest = {
            "epoch": self.epoch,
            "optimizer": self.optimizer,
            "schedule": self.schedule,
            "generator": self.generator,
            "history": self.history,
            "wall_time_s": self.wall_time_s,
        }
        torch.save(rest, path / STATE_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> TrainState:
        path = Path(directory)
        for name in (MODEL_FILE, STATE_FILE):
            if not (path / name).is_file():
                raise ValueError(f"checkpoint {path}: missing {name}; not a proxy checkpoint")
        model = torch.load(path / MODEL_FILE, map_location="cpu", weights_only=True)
        rest = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
        return cls(model=model, **rest)
