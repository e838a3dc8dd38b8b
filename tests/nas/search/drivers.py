"""What the several-driver tests share: a tiny space, its study prepared as ``nas search`` does, a
driver's searcher, a final result, and trials owned by another (live or dead) driver.

A "driver" is a :class:`~nas.search.searcher.StudySearcher` called the way Tune calls it, or a
trial whose ``nas:driver`` owner names another host or a dead process. Not collected: the
``test_*`` modules of several drivers import it (``tests/test_imports.py``).
"""

from __future__ import annotations

import subprocess
from typing import Any

import optuna

from nas.config import SearchConfig
from nas.search.ownership import OWNER_ATTR, Ownership
from nas.search.searcher import StudySearcher
from nas.search.study import prepare_study
from nas.space import SearchSpace
from storage import open_storage
from storage.internals import trial_id
from tests.nas.search.searcher_setup import SHAPE, searcher_of
from workers.signals import SIGNALS, signal_key

TINY = {"blocks": ["none", "se"], "positions": ["branch"], "selectors": ["all"]}


def small_config(trials: int) -> SearchConfig:
    """Without replicas (test_replicas.py has them): the queue holds the references only."""
    space = {**TINY, "params": {"se": {"ratio": [8]}}}
    search = {"trials": trials, "pruner": "none", "study": "drivers"}
    return SearchConfig.from_dict({"space": space, "search": search, "noise": {"specs": 0}})


def prepared_study(url: str, trials: int = 4) -> optuna.Study:
    """The study of :func:`small_config`, prepared as ``nas search`` does (references queued)."""
    config = small_config(trials)
    study, _ = prepare_study(config, open_storage(url), SearchSpace(config.space, **SHAPE))
    return study


def new_driver(url: str, trials: int = 4) -> StudySearcher:
    """One driver: the study prepared as ``nas search`` does, then its searcher."""
    return searcher_of(small_config(trials), url)[1]


def final_result(value: float) -> dict[str, Any]:
    """What a trial reports after its last epoch, every signal at ``value``."""
    signals = {signal_key(name): value for name in SIGNALS}
    return {"done": True, "epoch": 2, "val_accuracy": value, **signals, "epochs_trained": 2}


def dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def own_as(ownership: Ownership, trial: optuna.trial.Trial, host: str, pid: int) -> None:
    """Make ``trial`` another driver's (``host``, ``pid``), with a fresh heartbeat."""
    ownership.beats.set_trial_system_attr(
        trial_id(trial), OWNER_ATTR, {"host": host, "pid": pid, "token": f"t{pid}"}
    )
    ownership.beats.record_heartbeat(trial_id(trial))
