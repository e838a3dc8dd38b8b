"""Several drivers on one study: the shared trial budget, no spec trained twice, a full budget
that waits for another driver's trials (and takes them over when it dies).

Real Optuna studies in real SQLite files (and PostgreSQL when ``NAS_TEST_POSTGRES_URL`` is set):
the unit tests call two :class:`~nas.search.searcher.StudySearcher` the way Tune calls them
(:mod:`tests.nas.search.drivers`); the slow ones run two real ``nas search`` processes (Ray
included) on one study.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.search.ledger import finished_count
from nas.search.ownership import OWNER_ATTR
from nas.search.trials import INTERRUPTED, OVER_BUDGET
from tests.nas import faults
from tests.nas.faults import (
    Search,
    assert_budget_and_no_duplicates,
    hold_training,
    trials_of,
    wait_until,
    write_search,
)
from tests.nas.search.drivers import final_result, new_driver, own_as

optuna.logging.set_verbosity(optuna.logging.WARNING)
scratch, postgres = faults.scratch, faults.postgres  # fixtures shared with test_faults


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def test_two_drivers_share_the_budget_and_train_no_spec_twice(url: str) -> None:
    first, second = new_driver(url, trials=4), new_driver(url, trials=4)
    a = first.suggest("a")
    assert isinstance(a, dict)
    taken = first.ledger.flying["a"]
    first.study.enqueue_trial(dict(taken.trial.params))  # the second driver draws it too
    b, c = second.suggest("b"), second.suggest("c")
    assert isinstance(b, dict) and isinstance(c, dict)
    assert len({str(x["spec"]) for x in (a, b, c)}) == 3, "drawn again, not trained twice"
    (twin,) = second.ledger.held()
    assert twin.trial.params == taken.trial.params, "it waits for the first driver's trial"
    assert first.suggest("d") is None, "a full budget, but the second's trials may yet return"

    first.on_trial_complete("a", final_result(0.5))
    assert second.ledger.trained(taken.spec.canonical_id) is not None, "the other's result"
    time.sleep(1.1)  # the waiting trial looks again after POLL_S
    assert second.suggest("e") == "FINISHED", "its waiting trial told, the budget is full"
    told = second.study.trials[twin.trial.number]
    assert told.state == TrialState.COMPLETE and told.values == first.study.trials[0].values
    assert told.user_attrs["reused_from"] == taken.trial.number
    assert finished_count(first.study) == 2 and not second.ledger.held()
    for ray_id in ("b", "c"):
        second.on_trial_complete(ray_id, final_result(0.4))
    assert finished_count(first.study) == 4
    assert second.suggest("f") == "FINISHED"
    time.sleep(1.1)  # an idle driver looks again after POLL_S
    assert first.suggest("g") == "FINISHED", "nothing of another driver's left running"


def test_a_full_budget_waits_for_another_drivers_trial_and_takes_it_over_when_it_dies(
    url: str,
) -> None:
    """The budget is full with another live driver's trial: this driver does not finish (Tune
    would never ask again); once that driver is gone it trains the trial's copy, not a new
    draw, even before its heartbeat thread has looked."""
    other, driver = new_driver(url, trials=2), new_driver(url, trials=2)
    assert isinstance(other.suggest("x"), dict)
    theirs = other.ledger.flying["x"].trial
    owner = subprocess.Popen(["sleep", "60"])  # the other driver's process
    try:
        own_as(driver.ownership, theirs, socket.gethostname(), owner.pid)
        assert isinstance(driver.suggest("a"), dict)
        assert driver.suggest("b") is None, "full, but not FINISHED while the other trains"
        driver.on_trial_complete("a", final_result(0.5))
        assert driver.suggest("c") is None
    finally:
        owner.kill()
        owner.wait()
    time.sleep(1.1)  # an idle driver looks again after POLL_S
    copy = driver.suggest("d")
    assert isinstance(copy, dict), "the dead driver's trial, queued again and taken"
    taken = driver.ledger.flying["d"].trial
    assert taken.params == theirs.params
    assert driver.study.trials[taken.number].user_attrs["requeued_from"] == theirs.number
    driver.on_trial_complete("d", final_result(0.4))
    assert driver.suggest("e") == "FINISHED"
    assert finished_count(driver.study) == 2


def test_of_two_drivers_that_both_find_the_last_place_open_the_second_asked_gives_up(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``full`` is read before ``ask``: two drivers can both find one place left and both ask
    (seen once in the two-process test: 7 trials for a budget of 6). The trial asked second
    sees the first one RUNNING, is failed untrained as over budget and does not count."""
    first, second = new_driver(url, trials=1), new_driver(url, trials=1)
    assert not second.ledger.full(1), "the second driver finds the place open ..."
    assert isinstance(first.suggest("a"), dict), "... and the first driver takes it"
    monkeypatch.setattr(second.ledger, "full", lambda target: False)  # read before the ask
    assert second.suggest("b") is None, "not FINISHED: the first trial may yet be interrupted"
    monkeypatch.undo()
    given_up = second.study.trials[-1]
    assert given_up.state == TrialState.FAIL and given_up.user_attrs["fail_reason"] == OVER_BUDGET
    assert "spec" not in given_up.user_attrs, "never drawn, never trained"
    first.on_trial_complete("a", final_result(0.5))
    assert finished_count(first.study) == 1 and first.suggest("c") == "FINISHED"
    assert [t.state for t in first.study.trials].count(TrialState.COMPLETE) == 1


def test_a_waiting_trial_trains_itself_when_its_twin_is_interrupted(url: str) -> None:
    first, second = new_driver(url, trials=4), new_driver(url, trials=4)
    assert isinstance(first.suggest("a"), dict)
    taken = first.ledger.flying["a"]
    first.study.enqueue_trial(dict(taken.trial.params))
    second.suggest("b"), second.suggest("c")  # the reference left, then the same params
    assert second.ledger.held(), "waiting for trial a"
    assert first.interrupt_all() == 1  # the first driver stops: a is FAIL (interrupted)
    time.sleep(1.1)  # the waiting trial looks again after POLL_S
    again = second.suggest("d")
    assert isinstance(again, dict) and again["spec"] == taken.spec.to_dict(), "it trains now"
    assert second.ledger.flying["d"].trial.params == taken.trial.params
    assert not second.ledger.held()
    assert second.interrupt_all() == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_drivers_on_one_study_reach_the_budget_and_train_no_spec_twice(
    backend: str, tmp_path: Path, scratch: Path, request: pytest.FixtureRequest
) -> None:
    """Two ``nas search`` processes, same config (same seed), same study, started apart.

    The first driver's trial workers are held (``SIGSTOP``; its driver runs on and beats) from
    the second's start until the second trains a trial of its own: a trial takes seconds, the
    second's start (Ray's included) tens of seconds, so on a loaded machine the first could
    otherwise fill the budget alone before the second asks for a trial."""
    study, artifacts = f"two-{backend}", tmp_path / "artifacts"
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    if backend == "postgres":
        url = request.getfixturevalue("postgres").url
    config = write_search(tmp_path, study, trials=6, concurrency=1, epochs=3)
    first = Search(config, url, tmp_path / "first.log", scratch, artifacts)
    try:
        running = [TrialState.RUNNING]
        wait_until(
            "the first driver's first trial",
            lambda: any(t.state in running for t in trials_of(url, study)),
            first,
        )
        second = Search(config, url, tmp_path / "second.log", scratch, artifacts)

        def second_trains() -> bool:
            pid = second.process.pid
            return any(
                (t.system_attrs.get(OWNER_ATTR) or {}).get("pid") == pid
                for t in faults.mid_training(trials_of(url, study))
            )

        try:
            hold_training(first, second_trains, "a trial of the second driver mid-training", second)
            assert second.wait() == 0, second.tail()
            assert first.wait() == 0, first.tail()
        finally:
            second.kill_all()
    finally:
        first.kill_all()
    assert "in training by another nas search" in second.tail()
    after = trials_of(url, study)
    assert_budget_and_no_duplicates(after, 6)
    reasons = [t.user_attrs.get("fail_reason") for t in after]
    assert INTERRUPTED not in reasons, "neither driver failed the other's trials"
    trained_by = {
        t.system_attrs[OWNER_ATTR]["pid"]
        for t in after
        if t.state == TrialState.COMPLETE and "reused_from" not in t.user_attrs
    }
    assert trained_by == {first.process.pid, second.process.pid}, "both drivers trained"


@pytest.mark.slow
def test_a_running_driver_takes_over_the_trials_of_one_killed_beside_it(
    tmp_path: Path, scratch: Path
) -> None:
    """Two drivers on one SQLite study; the second is SIGKILLed mid-trial: the first queues its
    trial again (the process is gone), trains it from its kept epoch and reaches the budget.

    The budget leaves the first driver several trials after the second's first one starts: a
    driver whose own trials fill the budget beside a live driver's leaves that trial to it and
    ends, so with a budget of 6 on a loaded box the first sometimes ended before the kill and
    nobody was left to take the trial over (a test race, not the product's)."""
    url, study = f"sqlite:///{tmp_path / 'nas.db'}", "takeover"
    budget = 10
    config = write_search(tmp_path, study, trials=budget, concurrency=1, epochs=4)
    first = Search(config, url, tmp_path / "first.log", scratch)
    try:
        wait_until(
            "the first driver's first trial",
            lambda: any(t.state == TrialState.RUNNING for t in trials_of(url, study)),
            first,
        )
        second = Search(config, url, tmp_path / "second.log", scratch)

        def second_mid_trial() -> list[optuna.trial.FrozenTrial]:
            pid = second.process.pid
            return [
                t
                for t in faults.mid_training(trials_of(url, study))
                if (t.system_attrs.get(OWNER_ATTR) or {}).get("pid") == pid
            ]

        try:
            wait_until(
                "a trial of the second driver mid-training",
                lambda: bool(second_mid_trial()),
                second,
            )
            (killed,) = second_mid_trial()
            assert first.process.poll() is None, "the first driver must still be running"
            second.sigkill()
        finally:
            second.kill_all()
        assert first.wait() == 0, first.tail()
    finally:
        first.kill_all()
    after = trials_of(url, study)
    assert_budget_and_no_duplicates(after, budget)
    assert after[killed.number].user_attrs["fail_reason"] == INTERRUPTED
    (copy,) = [t for t in after if t.user_attrs.get("requeued_from") == killed.number]
    assert copy.state == TrialState.COMPLETE
    assert copy.system_attrs[OWNER_ATTR]["pid"] == first.process.pid, "the first trained it"
    assert min(copy.intermediate_values) > 1, "from the epoch the killed driver kept"
