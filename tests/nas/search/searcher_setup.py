"""What the searcher's unit tests share: a tiny space, its study prepared, a final result."""

from __future__ import annotations

from typing import Any

import optuna

from nas.config import SearchConfig
from nas.search.searcher import StudySearcher
from nas.search.study import StudyHandle, prepare_study
from nas.space import SearchSpace
from storage import artifact_store, open_storage
from workers.signals import SIGNALS, signal_key

SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}
TINY = {
    "space": {
        "blocks": ["none", "se"],
        "positions": ["branch"],
        "selectors": ["all"],
        "params": {"se": {"ratio": [8]}},
    }
}
NONE = {"s0.block": "none", "s1.block": "none", "s2.block": "none"}


def _setup(
    url: str, trials: int = 4, extra: list[str] | None = None, noise: int = 0
) -> tuple[optuna.Study, StudySearcher]:
    """A study of :data:`TINY`, its references queued; ``noise`` replicated (none: the trials
    these tests count are the references and what they queue)."""
    search = {"trials": trials, "pruner": "none"}
    raw = {**TINY, "search": search, "objectives": {"extra": extra or []}}
    raw["noise"] = {"specs": noise}
    return searcher_of(SearchConfig.from_dict(raw), url)


def searcher_of(config: SearchConfig, url: str) -> tuple[optuna.Study, StudySearcher]:
    """``config``'s study at ``url`` prepared as ``nas search`` does, and one driver's searcher
    (2 epochs of Fashion-MNIST, up to ``[search] trials``)."""
    space = SearchSpace(config.space, **SHAPE)
    study, _ = prepare_study(config, open_storage(url), space)
    searcher = StudySearcher(
        StudyHandle(config, url, None, study),
        space,
        data={"dataset": "fashion_mnist"},
        budget={"epochs": 2},
        target=config.search.trials,
        artifacts=artifact_store(url),
    )
    return study, searcher


def _final(accuracy: float, **extra: Any) -> dict[str, Any]:
    return {
        "done": True,
        "epoch": 2,
        "val_accuracy": accuracy,
        "best_val_accuracy": accuracy,
        **{signal_key(name): accuracy for name in SIGNALS},  # what the trainable reports
        "epochs_trained": 2,
        "wall_time_s": 1.5,
        "proxy": {"epochs": 2, "width": 0.5},
        **extra,
    }
