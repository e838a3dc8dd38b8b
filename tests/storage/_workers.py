"""Process entry points for the concurrency tests (importable, so ``spawn`` can start them)."""

from __future__ import annotations

import time
import traceback
from typing import Any


def write_trials(url: str, study_name: str, writer: int, n_trials: int) -> str:
    """Ask, annotate, report and tell ``n_trials`` trials; '' on success, else the traceback."""
    try:
        import optuna

        from storage import open_storage
        from storage.internals import trial_id

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(url)
        study = optuna.load_study(
            study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler(writer)
        )
        for i in range(n_trials):
            trial = study.ask()
            trial.suggest_categorical("block", ["none", "se", "cbam"])
            storage.set_trial_user_attr(trial_id(trial), "writer", writer)
            storage.set_trial_user_attr(trial_id(trial), "spec_id", f"{writer}-{i}")
            for epoch in (1, 2):
                storage.set_trial_intermediate_value(trial_id(trial), epoch, 0.1 * epoch)
            study.tell(trial, [0.5 + 0.001 * i, 1e6 * (writer + 1) + i])
        return ""
    except Exception:
        return traceback.format_exc()


def read_until(url: str, study_name: str, deadline_s: float, expected: int) -> str:
    """Read the study table until it holds ``expected`` COMPLETE trials; '' or a traceback."""
    try:
        from storage import open_storage
        from storage.queries import study_summaries, trial_table

        storage = open_storage(url)
        stop = time.monotonic() + deadline_s
        reads = 0
        while time.monotonic() < stop:
            rows = trial_table(storage, study_name)
            study_summaries(storage)
            reads += 1
            if sum(r.state == "COMPLETE" for r in rows) >= expected:
                return ""
            time.sleep(0.01)
        return f"reader saw fewer than {expected} COMPLETE trials after {reads} reads"
    except Exception:
        return traceback.format_exc()


def open_new(url: str, study_name: str, barrier: Any, results: Any) -> None:
    """Wait for the other racers, then open the storage and create-or-load the study, as a
    driver does; put ``(study id, '')`` or ``(-1, traceback)`` on ``results``."""
    try:
        import optuna

        from storage import open_storage
        from storage.internals import study_id

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        barrier.wait(timeout=300)
        study = optuna.create_study(
            storage=open_storage(url),
            study_name=study_name,
            directions=["maximize", "minimize"],
            load_if_exists=True,
        )
        results.put((study_id(study), ""))
    except Exception:
        results.put((-1, traceback.format_exc()))
