"""Drivers on machines whose clocks disagree: no decision compares another process's wall clock
(a trial's ``datetime_start``, written by the process that asked for it) with this one's.

A trial's ``datetime_start`` is moved hours into the past or the future with a real SQL
``UPDATE`` on the SQLite file, as a driver on a machine in another time zone (or with a skewed
clock) writes it. Real Optuna studies, no Ray.
"""

from __future__ import annotations

import pickle
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.sampling.view import SamplerView
from nas.search.ownership import Ownership
from nas.search.trials import INTERRUPTED, SamplerError
from storage.internals import trial_id
from tests.nas.search.drivers import new_driver, own_as, prepared_study

optuna.logging.set_verbosity(optuna.logging.WARNING)
HOURS = 5


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nas.db"


def _url(db: Path) -> str:
    return f"sqlite:///{db}"


def _shift(db: Path, trial: optuna.trial.Trial, hours: int) -> None:
    """Move the stored ``datetime_start`` of ``trial`` by ``hours``, and check that it moved."""
    before = _started(db, trial)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE trials SET datetime_start = datetime(datetime_start, ?) WHERE trial_id = ?",
            (f"{hours:+d} hours", trial_id(trial)),
        )
    moved = (_started(db, trial) - before).total_seconds() / 3600
    assert abs(moved - hours) < 0.01, moved


def _started(db: Path, trial: optuna.trial.Trial) -> datetime:
    loaded = optuna.load_study(study_name="drivers", storage=_url(db))
    start = loaded.trials[trial.number].datetime_start
    assert start is not None
    return start


def test_an_unowned_trial_is_aged_by_this_drivers_clock_not_its_datetime_start(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 1.0)
    study = prepared_study(_url(db))
    past, future = study.ask(), study.ask()  # unowned: as a driver killed right after ask
    _shift(db, past, -HOURS)
    _shift(db, future, +HOURS)
    ownership = Ownership(_url(db), "drivers")
    assert ownership.running()[1] == [], "just seen: its driver may still claim it"
    assert ownership.requeue_orphans() == 0
    time.sleep(1.5)
    assert {t.number for t in ownership.running()[1]} == {past.number, future.number}
    copy = pickle.loads(pickle.dumps(ownership))
    assert copy.running()[1] == [], "a copy ages them from its own first look"
    assert ownership.requeue_orphans() == 2
    trials = study.trials
    assert trials[past.number].user_attrs["fail_reason"] == INTERRUPTED
    assert trials[future.number].user_attrs["fail_reason"] == INTERRUPTED


def test_a_starting_driver_requeues_a_left_trial_after_settling_whatever_its_clock(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 1.0)
    study = prepared_study(_url(db))
    past, future = study.ask(), study.ask()
    _shift(db, past, -HOURS)
    _shift(db, future, +HOURS)
    started = time.monotonic()
    again = prepared_study(_url(db))  # what a driver starting now does first
    assert time.monotonic() - started >= 1.0, "it gave the asking drivers time to claim them"
    trials = again.trials
    assert trials[past.number].user_attrs["fail_reason"] == INTERRUPTED
    assert trials[future.number].user_attrs["fail_reason"] == INTERRUPTED


class _BreaksInAsk(optuna.samplers.RandomSampler):
    """A sampler that raises inside ``ask``, after the trial was created."""

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        raise RuntimeError("injected sampler bug")


def test_a_failing_ask_abandons_its_own_trial_not_a_remote_drivers_later_one(db: Path) -> None:
    driver = new_driver(_url(db))
    remote = driver.study.ask()  # another machine's trial, owned, its clock hours ahead
    own_as(driver.ownership, remote, "another-machine", 4242)
    _shift(db, remote, +HOURS)
    driver.study.sampler = _BreaksInAsk()
    with pytest.raises(SamplerError, match="injected sampler bug"):
        driver.suggest("a")
    trials = optuna.load_study(study_name="drivers", storage=_url(db)).trials
    assert trials[remote.number].state == TrialState.RUNNING, "left to its live driver"
    abandoned = [t for t in trials if t.user_attrs.get("fail_reason") == INTERRUPTED]
    assert [t.number for t in abandoned] == [remote.number + 1], "the trial the ask created"
    assert [t.number for t in trials if t.state == TrialState.RUNNING] == [remote.number]


def test_a_failing_ask_leaves_another_drivers_trials_not_owned_yet_alone(db: Path) -> None:
    driver = new_driver(_url(db))
    # Another driver between its asks and owning them: RUNNING, no owner yet. It takes the
    # queued references too, so that this driver's ask makes a new trial.
    other = optuna.load_study(study_name="drivers", storage=_url(db))
    theirs = [other.ask()]
    while other.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        theirs.append(other.ask())
    driver.study.sampler = SamplerView(_BreaksInAsk())  # as every built-in sampler is wrapped
    with pytest.raises(SamplerError, match="injected sampler bug"):
        driver.suggest("a")
    trials = optuna.load_study(study_name="drivers", storage=_url(db)).trials
    assert all(trials[t.number].state == TrialState.RUNNING for t in theirs), "not its to fail"
    abandoned = [t.number for t in trials if t.user_attrs.get("fail_reason") == INTERRUPTED]
    assert abandoned == [len(theirs)], "the one trial this driver's ask created"
