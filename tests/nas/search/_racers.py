"""Process entry point for the reference-queue race (importable, so ``spawn`` can start it)."""

from __future__ import annotations

import traceback
from typing import Any


def prepare(url: str, raw: dict[str, Any], barrier: Any, results: Any) -> None:
    """Wait for the other racers, then prepare the study as ``nas search`` does; put its notes
    (or ``["error", traceback]``) on ``results``."""
    try:
        import optuna

        from nas.config import SearchConfig
        from nas.search.study import prepare_study
        from nas.space import SearchSpace
        from storage import open_storage

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        config = SearchConfig.from_dict(raw)
        space = SearchSpace(config.space, in_channels=1, input_size=28, num_classes=10)
        storage = open_storage(url)
        barrier.wait(timeout=300)
        _, notes = prepare_study(config, storage, space)
        results.put(notes)
    except Exception:
        results.put(["error", traceback.format_exc()])
