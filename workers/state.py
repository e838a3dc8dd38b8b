"""Everything needed to resume a proxy run at its next epoch, saved beside ``model.pt``.

``model.pt`` is the plain ``state_dict`` of the proxy model (loadable with
``torch.load(path, weights_only=True)`` into ``build_model(proxy_spec)``); ``train_state.pt``
holds the optimizer, the schedule, the batch-order/augmentation generator and the history, so
a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import os
import shutil
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


EPOCH_PREFIX = "epoch-"


def save_resumable(state: TrainState, root: str | Path) -> Path:
    """Keep ``state`` under ``root`` so a run killed later resumes from it; returns its folder.

    The folder ``epoch-<k>`` appears whole or not at all: it is written under a temporary name
    and renamed, so a process killed while saving leaves the previous epoch's folder intact.
    Older epochs are then removed. ``root`` is the trial's resume folder (kept by the search
    while the trial is unfinished, :mod:`nas.search.searcher`).
    """
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    final = base / f"{EPOCH_PREFIX}{state.epoch}"
    partial = base / f".partial-{os.getpid()}-{state.epoch}"
    shutil.rmtree(partial, ignore_errors=True)
    state.save(partial)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(partial, final)
    for older in base.glob(f"{EPOCH_PREFIX}*"):
        if older != final and _epoch_of(older) < state.epoch:
            shutil.rmtree(older, ignore_errors=True)
    return final


def load_resumable(root: str | Path) -> TrainState | None:
    """The newest whole state :func:`save_resumable` left under ``root`` (``None``: none)."""
    base = Path(root)
    if not base.is_dir():
        return None
    folders = sorted(base.glob(f"{EPOCH_PREFIX}*"), key=_epoch_of, reverse=True)
    for folder in folders:
        try:
            return TrainState.load(folder)
        except (ValueError, RuntimeError, OSError, EOFError):
            continue  # a damaged folder: try the epoch before it
    return None


def _epoch_of(folder: Path) -> int:
    suffix = folder.name[len(EPOCH_PREFIX) :]
    return int(suffix) if suffix.isdigit() else -1
