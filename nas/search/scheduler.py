"""A Ray Tune scheduler that lets the Optuna study's pruner stop trials after each epoch.

Optuna's ``Trial.report``/``should_prune`` refuse multi-objective studies, so the epoch's
signal (the study's first objective, ``[objectives] signal``) is written as an intermediate
value through the storage and the study's pruner (``nas.pruning.make_pruner``) is asked
directly with the stored trial. A ``True`` answer returns ``STOP`` and marks the trial
pruned, so :class:`nas.search.searcher.StudySearcher` tells it ``PRUNED``. Otherwise this is
Tune's FIFO scheduler. It also hands the searcher what only the scheduler sees: the trial's
last checkpoint directory and, for a trial whose worker died or raised, its error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from nas.search.ledger import TrialLedger
from nas.search.trials import one_line, record_epoch
from storage.internals import storage_of
from storage.internals import trial_id as optuna_trial_id
from workers.signals import signal_key

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController

    from nas.search.study import StudyHandle


class PruningScheduler(FIFOScheduler):
    """FIFO scheduling plus the study pruner's verdict after every reported epoch.

    Pickles without the study, as :class:`nas.search.searcher.StudySearcher` does.

    Args:
        handle: the study whose ``pruner`` decides.
        ledger: the searcher's ledger (shared, not copied): trials in flight by Ray id.
        max_trial_seconds: a trial whose training time passes this after an epoch is
            stopped and failed with the reason (``None``: no limit).
    """

    def __init__(
        self,
        handle: StudyHandle,
        ledger: TrialLedger,
        max_trial_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.handle, self.ledger = handle, ledger
        self.max_trial_seconds = max_trial_seconds

    @property
    def study(self) -> optuna.Study:
        return self.handle.study

    def on_trial_result(
        self, tune_controller: TuneController, trial: Trial, result: dict[str, Any]
    ) -> str:
        entry = self.ledger.entry(trial.trial_id)
        if entry is None:
            return TrialScheduler.CONTINUE
        key = signal_key(self.handle.config.objectives.signal)
        if record_epoch(self.study, optuna_trial_id(entry.trial), result, key):
            frozen = storage_of(self.study).get_trial(optuna_trial_id(entry.trial))
            # a replica trains to the end: its final score is what measures the proxy's noise
            if entry.seed is None and self.study.pruner.prune(self.study, frozen):
                entry.pruned = True
                return TrialScheduler.STOP
        elapsed = float(result.get("time_total_s", 0.0))
        limit = self.max_trial_seconds
        if limit is not None and elapsed > limit and not result.get("done"):
            entry.error = (
                f"exceeded the per-trial time limit of {limit:g} s after epoch "
                f"{result.get('epoch', '?')} ({elapsed:.0f} s); raise resources.max_trial_seconds "
                "or leave the slow block out of [space] blocks"
            )
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(
        self, tune_controller: TuneController, trial: Trial, result: dict[str, Any]
    ) -> None:
        entry = self.ledger.entry(trial.trial_id)
        if entry is not None:
            entry.checkpoint = trial.checkpoint

    def on_trial_error(self, tune_controller: TuneController, trial: Trial) -> None:
        """Called when the trial's worker died or raised: before each retry Tune makes
        (``[resources] max_retries``) and once more when it gives up."""
        entry = self.ledger.entry(trial.trial_id)
        if entry is None:
            return
        line, failures = _error_line(trial), trial.num_failures
        if line is not None and failures > 1:
            retries = "1 retry" if failures == 2 else f"{failures - 1} retries"
            line = f"{line} (after {retries} from its last epoch checkpoint)"
        entry.lost = line

    def debug_string(self) -> str:
        return "FIFO scheduling; the Optuna study's pruner stops trials after each epoch."


def _error_line(trial: Trial) -> str | None:
    """The last line of the trial's error trace (``RuntimeError: ...``), if Tune wrote one.

    Tune writes the trace to the trial's local directory first and syncs it to the
    experiment storage later, so the local file is read when it exists.
    """
    local = trial.error_file
    if local is not None and Path(local).is_file():
        return one_line(Path(local).read_text(errors="replace"))
    error = trial.get_error()
    return one_line(str(error)) if error is not None else None
