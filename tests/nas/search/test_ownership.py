"""Who owns a RUNNING trial: a live driver's trials are left alone, a dead one's (its process
gone, its heartbeat stale, or never claimed) are failed as interrupted and queued again once.

Real Optuna studies in real SQLite files, without Ray (:mod:`tests.nas.search.drivers`).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.search.ownership import Ownership, claim
from nas.search.study import prepare_study
from nas.search.trials import INTERRUPTED
from nas.space import SearchSpace
from storage import open_storage
from storage.internals import trial_id
from tests.nas.search.drivers import (
    SHAPE,
    dead_pid,
    final_result,
    new_driver,
    own_as,
    prepared_study,
    small_config,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def test_a_live_drivers_trials_are_left_alone_and_a_dead_ones_queued_again_once(
    url: str,
) -> None:
    study = prepared_study(url)
    ownership = Ownership(url, "drivers")
    remote, dead, unowned = study.ask(), study.ask(), study.ask()
    own_as(ownership, remote, "another-machine", 4242)
    own_as(ownership, dead, socket.gethostname(), dead_pid())
    live, orphaned = ownership.running()
    assert {t.number for t in live} == {remote.number, unowned.number}, "fresh: left alone"
    assert [t.number for t in orphaned] == [dead.number], "its process is gone"
    assert ownership.requeue_orphans() == 1
    assert not claim(study, orphaned[0]), "a second driver finds it claimed already"
    assert ownership.requeue_orphans() == 0
    after = study.trials
    assert after[dead.number].state == TrialState.FAIL
    assert after[dead.number].user_attrs["fail_reason"] == INTERRUPTED
    assert after[remote.number].state == after[unowned.number].state == TrialState.RUNNING
    requeued = [t for t in after if t.user_attrs.get("requeued_from") == dead.number]
    assert len(requeued) == 1 and requeued[0].state == TrialState.WAITING

    # A driver starting now: waits for the unowned trial to be claimed, then takes it over.
    config = small_config(4)
    _, notes = prepare_study(config, open_storage(url), SearchSpace(config.space, **SHAPE))
    assert notes[:2] == [
        "resumed: 1 interrupted trial marked FAIL and queued again",
        "1 trial is in training by another nas search on this study (heartbeat within the "
        "grace period): left to it; the two share the trial budget",
    ]
    assert study.trials[remote.number].state == TrialState.RUNNING


def test_a_stale_heartbeat_and_an_old_unowned_trial_are_orphans(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3 s: what asking, owning and reading may take on a loaded machine (0.5 s did not, in CI)
    monkeypatch.setattr("nas.search.ownership.GRACE_PERIOD_S", 3)
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 3.0)
    study = prepared_study(url)
    ownership = Ownership(url, "drivers")
    remote, unowned = study.ask(), study.ask()
    own_as(ownership, remote, "another-machine", 4242)
    assert not ownership.running()[1]
    time.sleep(4.5)  # SQLite's clock has whole seconds
    assert {t.number for t in ownership.running()[1]} == {remote.number, unowned.number}
    assert ownership.running(mine=frozenset({trial_id(unowned)}))[1][0].number == remote.number
    ownership.beat([trial_id(remote)])
    assert [t.number for t in ownership.running()[1]] == [unowned.number], "it beat again"


def test_prepare_study_waits_for_unowned_trials_then_queues_them(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 1.0)
    study = prepared_study(url)
    left = study.ask()  # what a driver killed right after ask leaves
    started = time.monotonic()
    again = prepared_study(url)
    assert time.monotonic() - started >= 1.0, "it gave the asking driver time to claim it"
    assert again.trials[left.number].user_attrs["fail_reason"] == INTERRUPTED


def test_a_trial_another_driver_took_over_is_left_to_its_copy(url: str) -> None:
    driver = new_driver(url, trials=4)
    assert isinstance(driver.suggest("a"), dict)
    number = driver.ledger.flying["a"].trial.number
    assert claim(driver.study, driver.study.trials[number]), "as after a long silence"
    driver.on_trial_complete("a", final_result(0.5))  # no error: the search goes on
    trials = driver.study.trials
    assert trials[number].user_attrs["fail_reason"] == INTERRUPTED
    assert [t.user_attrs.get("requeued_from") for t in trials].count(number) == 1
    assert not driver.ledger.flying


def test_a_live_drivers_new_trial_is_not_taken_by_a_driver_starting_beside_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drawn trial is owned when ``suggest`` returns, not at the end of Tune's step (which on
    a busy machine can outlast SETTLE_S): a driver starting meanwhile leaves it alone."""
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 0.5)
    driver = new_driver(url)
    assert isinstance(driver.suggest("a"), dict)  # no Tune step has ended: no callback ran
    time.sleep(1.1)  # a Tune step longer than SETTLE_S, as on a busy machine
    config = small_config(4)
    _, notes = prepare_study(config, open_storage(url), SearchSpace(config.space, **SHAPE))
    number = driver.ledger.flying["a"].trial.number
    assert driver.study.trials[number].state == TrialState.RUNNING, "left to its live driver"
    assert not [note for note in notes if "interrupted" in note], notes
