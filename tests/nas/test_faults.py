"""Faults a search survives, measured: a trial's Ray worker killed mid-epoch (retried from its
checkpoint, and failed with the reason past ``[resources] max_retries``), the driver killed
mid-search and run again, the PostgreSQL server restarted mid-search.

Every search here is a real ``nas search`` subprocess (real Ray, real SQLite or PostgreSQL) on
tiny banded IDX data (:func:`tests.idx.write_banded_fashion_mnist`), with epochs long enough
(about a second each) that a kill lands inside one. Killing is ``SIGKILL``: nothing of the
killed process runs after it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from nas.search.ledger import counts_to_budget
from nas.search.trials import INTERRUPTED
from tests.nas import faults
from tests.nas.faults import (
    Postgres,
    Search,
    assert_budget_and_no_duplicates,
    kill_when,
    mid_training,
    trial_workers,
    trials_of,
    wait_until,
    write_search,
)

pytestmark = pytest.mark.slow
scratch, postgres = faults.scratch, faults.postgres  # fixtures shared with test_drivers


def test_driver_killed_mid_search_resumes_without_loss_or_duplicates(
    tmp_path: Path, scratch: Path
) -> None:
    config, url = write_search(tmp_path, "driver", trials=6), f"sqlite:///{tmp_path / 'nas.db'}"
    search = Search(config, url, tmp_path / "search.log", scratch)

    def ready() -> bool:
        trials = trials_of(url, "driver")
        return any(t.state == TrialState.COMPLETE for t in trials) and bool(mid_training(trials))

    try:
        kill_when("a COMPLETE trial and one mid-training", ready, search)
    finally:
        search.kill_all()
    before = trials_of(url, "driver")
    complete = {t.number: t for t in before if t.state == TrialState.COMPLETE}
    killed = {t.number: t for t in before if t.state == TrialState.RUNNING}
    assert complete and mid_training(before)
    resume = tmp_path / "nas.artifacts" / "resume" / "driver"
    # A trial killed between its ask and its draw holds no spec yet: nothing trained, nothing
    # kept (seen under load, with two test processes sharing the cores).
    drawn = {n: t for n, t in killed.items() if "spec_id" in t.user_attrs}
    kept = {n: _kept_epoch(resume / t.user_attrs["spec_id"]) for n, t in drawn.items()}
    assert max(kept.values()) >= 1, "the trial mid-training kept its last epoch on disk"

    rerun = Search(config, url, tmp_path / "rerun.log", scratch)
    assert rerun.wait() == 0, rerun.tail()
    assert "interrupted trial" in rerun.tail() and "marked FAIL and queued again" in rerun.tail()
    after = trials_of(url, "driver")
    assert_budget_and_no_duplicates(after, 6)
    for number, trial in complete.items():  # 0 completed trials lost
        assert after[number].state == TrialState.COMPLETE
        assert after[number].values == trial.values
        assert after[number].datetime_complete == trial.datetime_complete
    for number, trial in killed.items():
        assert after[number].state == TrialState.FAIL
        assert after[number].user_attrs["fail_reason"] == INTERRUPTED
        if number not in drawn:
            continue
        (copy,) = [t for t in after if t.user_attrs.get("requeued_from") == number]
        assert copy.params == trial.params and copy.state == TrialState.COMPLETE
        # The first epoch reported after the rerun is the one after the last kept (the last
        # epoch itself when the kill came after it was kept but before it was reported).
        assert min(copy.intermediate_values) == min(kept[number] + 1, 4), copy.intermediate_values
        assert copy.user_attrs["epochs_trained"] == 4
    assert not any(resume.iterdir()), "resume folders are removed once their trial ends"


def _kept_epoch(folder: Path) -> int:
    """The epoch of the state a killed trial left in its resume folder (0: none)."""
    return max((int(p.name.split("-")[1]) for p in folder.glob("epoch-*")), default=0)


def _kill_worker_mid_epoch(url: str, study: str, search: Search, spared: set[int]) -> int:
    """SIGKILL the Tune worker of the one trial in training (concurrency 1) once it has
    reported an epoch, a worker not in ``spared``; returns the killed pid."""
    wait_until("a trial mid-training", lambda: bool(mid_training(trials_of(url, study))), search)
    wait_until("a new Ray worker", lambda: bool(set(trial_workers(search)) - spared), search)
    (pid,) = set(trial_workers(search)) - spared
    os.kill(pid, signal.SIGKILL)
    return pid


def test_trial_worker_killed_mid_epoch_is_retried_from_its_checkpoint_and_completes(
    tmp_path: Path, scratch: Path
) -> None:
    config = write_search(tmp_path, "worker", trials=2, concurrency=1)
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    search = Search(config, url, tmp_path / "search.log", scratch)
    try:
        _kill_worker_mid_epoch(url, "worker", search, set())
        (victim,) = mid_training(trials_of(url, "worker"))
        assert search.wait() == 0, search.tail()
    finally:
        search.kill_all()
    after = trials_of(url, "worker")
    assert_budget_and_no_duplicates(after, 2)
    assert [t.state for t in after] == [TrialState.COMPLETE] * 2, "one record per trial, no FAIL"
    retried = after[victim.number]
    assert retried.user_attrs.get("reference") == "no_attention", "the baseline is not lost"
    assert set(retried.intermediate_values) == {1, 2, 3, 4}


def test_trial_worker_killed_past_its_retries_fails_with_reason_and_search_goes_on(
    tmp_path: Path, scratch: Path
) -> None:
    config = write_search(tmp_path, "limit", trials=2, concurrency=1, max_retries=1)
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    search = Search(config, url, tmp_path / "search.log", scratch)
    try:
        first = _kill_worker_mid_epoch(url, "limit", search, set())
        (victim,) = mid_training(trials_of(url, "limit"))
        _kill_worker_mid_epoch(url, "limit", search, {first})  # its one retry
        assert search.wait() == 0, search.tail()
    finally:
        search.kill_all()
    after = trials_of(url, "limit")
    assert_budget_and_no_duplicates(after, 2)
    failed = [t for t in after if t.state == TrialState.FAIL and counts_to_budget(t)]
    assert [t.number for t in failed] == [victim.number], [t.user_attrs for t in after]
    reason = failed[0].user_attrs["fail_reason"]
    assert "worker process has died" in reason, "Ray's reason"
    assert reason.endswith("(after 1 retry from its last epoch checkpoint)"), reason
    assert [t.state for t in after if t.number != victim.number] == [TrialState.COMPLETE]


def test_postgres_restarted_mid_search_the_driver_waits_and_finishes(
    tmp_path: Path, scratch: Path, postgres: Postgres
) -> None:
    config = write_search(tmp_path, "restart", trials=4)
    artifacts = tmp_path / "artifacts"
    search = Search(config, postgres.url, tmp_path / "search.log", scratch, artifacts)
    try:
        wait_until(
            "a trial mid-training",
            lambda: bool(mid_training(trials_of(postgres.url, "restart"))),
            search,
        )
        postgres.stop()
        time.sleep(5.0)  # the database away while trials report epochs
        postgres.start()
        assert search.wait() == 0, search.tail()
    finally:
        search.kill_all()
    after = trials_of(postgres.url, "restart")
    assert_budget_and_no_duplicates(after, 4)
    assert all(t.state == TrialState.COMPLETE for t in after), [t.user_attrs for t in after]
