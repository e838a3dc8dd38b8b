"""Several drivers on one study, without Ray: who owns a RUNNING trial, the shared budget, no
spec trained twice, the resume folder.

Real Optuna studies in real SQLite files (and PostgreSQL when ``NAS_TEST_POSTGRES_URL`` is set);
a "driver" is a :class:`~nas.search.searcher.StudySearcher` called the way Tune calls it,
or a trial whose ``nas:driver`` owner names another host or a dead process.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.search.ledger import finished_count
from nas.search.ownership import OWNER_ATTR, Ownership, claim
from nas.search.searcher import StudySearcher
from nas.search.study import StudyHandle, prepare_study
from nas.search.trials import INTERRUPTED
from nas.space import SearchSpace
from storage import artifact_store, open_storage
from storage.internals import trial_id
from tests.nas import faults
from tests.nas.faults import (
    Search,
    assert_budget_and_no_duplicates,
    trials_of,
    wait_until,
    write_search,
)
from workers.signals import SIGNALS, signal_key
from workers.state import TrainState, load_resumable, save_resumable
from workers.trainable import RESUME_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)
scratch, postgres = faults.scratch, faults.postgres  # fixtures shared with test_faults
SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}
TINY = {"blocks": ["none", "se"], "positions": ["branch"], "selectors": ["all"]}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def _config(trials: int) -> SearchConfig:
    """Without replicas (test_replicas.py has them): the queue holds the references only."""
    space = {**TINY, "params": {"se": {"ratio": [8]}}}
    search = {"trials": trials, "pruner": "none", "study": "drivers"}
    return SearchConfig.from_dict({"space": space, "search": search, "noise": {"specs": 0}})


def _study(url: str, trials: int = 4) -> optuna.Study:
    config = _config(trials)
    study, _ = prepare_study(config, open_storage(url), SearchSpace(config.space, **SHAPE))
    return study


def _driver(url: str, trials: int = 4) -> StudySearcher:
    """One driver: the study prepared as ``nas search`` does, then its searcher."""
    config = _config(trials)
    space = SearchSpace(config.space, **SHAPE)
    study, _ = prepare_study(config, open_storage(url), space)
    return StudySearcher(
        StudyHandle(config, url, None, study),
        space,
        data={"dataset": "fashion_mnist"},
        budget={"epochs": 2},
        target=trials,
        artifacts=artifact_store(url),
    )


def _final(value: float) -> dict[str, Any]:
    signals = {signal_key(name): value for name in SIGNALS}
    return {"done": True, "epoch": 2, "val_accuracy": value, **signals, "epochs_trained": 2}


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _own(ownership: Ownership, trial: optuna.trial.Trial, host: str, pid: int) -> None:
    ownership.beats.set_trial_system_attr(
        trial_id(trial), OWNER_ATTR, {"host": host, "pid": pid, "token": f"t{pid}"}
    )
    ownership.beats.record_heartbeat(trial_id(trial))


def test_a_live_drivers_trials_are_left_alone_and_a_dead_ones_queued_again_once(
    url: str,
) -> None:
    study = _study(url)
    ownership = Ownership(url, "drivers")
    remote, dead, unowned = study.ask(), study.ask(), study.ask()
    _own(ownership, remote, "another-machine", 4242)
    _own(ownership, dead, socket.gethostname(), _dead_pid())
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
    config = _config(4)
    _, notes = prepare_study(config, open_storage(url), SearchSpace(config.space, **SHAPE))
    assert notes[:2] == [
        "resumed: 1 interrupted trials marked FAIL and queued again",
        "1 trials are in training by another nas search on this study (heartbeat within the "
        "grace period): left to it; the two share the trial budget",
    ]
    assert study.trials[remote.number].state == TrialState.RUNNING


def test_a_stale_heartbeat_and_an_old_unowned_trial_are_orphans(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nas.search.ownership.GRACE_PERIOD_S", 1)
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 0.5)
    study = _study(url)
    ownership = Ownership(url, "drivers")
    remote, unowned = study.ask(), study.ask()
    _own(ownership, remote, "another-machine", 4242)
    assert not ownership.running()[1]
    time.sleep(2.5)  # SQLite's clock has whole seconds
    assert {t.number for t in ownership.running()[1]} == {remote.number, unowned.number}
    assert ownership.running(mine=frozenset({trial_id(unowned)}))[1][0].number == remote.number
    ownership.beat([trial_id(remote)])
    assert [t.number for t in ownership.running()[1]] == [unowned.number], "it beat again"


def test_prepare_study_waits_for_unowned_trials_then_queues_them(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nas.search.ownership.SETTLE_S", 1.0)
    study = _study(url)
    left = study.ask()  # what a driver killed right after ask leaves
    started = time.monotonic()
    again = _study(url)
    assert time.monotonic() - started >= 1.0, "it gave the asking driver time to claim it"
    assert again.trials[left.number].user_attrs["fail_reason"] == INTERRUPTED


def test_two_drivers_share_the_budget_and_train_no_spec_twice(url: str) -> None:
    first, second = _driver(url, trials=4), _driver(url, trials=4)
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

    first.on_trial_complete("a", _final(0.5))
    assert second.ledger.trained(taken.spec.canonical_id) is not None, "the other's result"
    time.sleep(1.1)  # the waiting trial looks again after POLL_S
    assert second.suggest("e") == "FINISHED", "its waiting trial told, the budget is full"
    told = second.study.trials[twin.trial.number]
    assert told.state == TrialState.COMPLETE and told.values == first.study.trials[0].values
    assert told.user_attrs["reused_from"] == taken.trial.number
    assert finished_count(first.study) == 2 and not second.ledger.held()
    for ray_id in ("b", "c"):
        second.on_trial_complete(ray_id, _final(0.4))
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
    other, driver = _driver(url, trials=2), _driver(url, trials=2)
    assert isinstance(other.suggest("x"), dict)
    theirs = other.ledger.flying["x"].trial
    owner = subprocess.Popen(["sleep", "60"])  # the other driver's process
    try:
        _own(driver.ownership, theirs, socket.gethostname(), owner.pid)
        assert isinstance(driver.suggest("a"), dict)
        assert driver.suggest("b") is None, "full, but not FINISHED while the other trains"
        driver.on_trial_complete("a", _final(0.5))
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
    driver.on_trial_complete("d", _final(0.4))
    assert driver.suggest("e") == "FINISHED"
    assert finished_count(driver.study) == 2


def test_a_waiting_trial_trains_itself_when_its_twin_is_interrupted(url: str) -> None:
    first, second = _driver(url, trials=4), _driver(url, trials=4)
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


def test_the_resume_folder_lives_until_its_trial_ends(url: str) -> None:
    driver = _driver(url, trials=4)
    done, stopped = driver.suggest("a"), driver.suggest("b")
    assert isinstance(done, dict) and isinstance(stopped, dict)
    folders = [Path(done[RESUME_KEY]), Path(stopped[RESUME_KEY])]
    assert folders[0].parent == Path(url[len("sqlite:///") :]).with_suffix(".artifacts") / (
        "resume/drivers"
    )
    for folder in folders:
        (folder / "epoch-1").mkdir(parents=True)
    driver.on_trial_complete("a", _final(0.5))
    assert not folders[0].exists(), "a finished trial's epochs are removed"
    assert driver.interrupt_all() == 1
    assert folders[1].is_dir(), "an interrupted one keeps them for its requeued copy"


def _state(epoch: int) -> TrainState:
    return TrainState(
        epoch=epoch,
        model={"w": torch.full((2,), float(epoch))},
        optimizer={},
        schedule={},
        generator=torch.Generator().get_state(),
        history=[{"epoch": float(e)} for e in range(1, epoch + 1)],
    )


def test_resumable_state_keeps_the_newest_whole_epoch(tmp_path: Path) -> None:
    root = tmp_path / "resume" / "spec"
    assert load_resumable(root) is None
    save_resumable(_state(1), root)
    save_resumable(_state(2), root)
    assert sorted(p.name for p in root.iterdir()) == ["epoch-2"], "older epochs removed"
    (root / ".partial-1-3").mkdir()  # a process killed while saving epoch 3
    (root / "epoch-4").mkdir()  # or a folder damaged some other way
    loaded = load_resumable(root)
    assert loaded is not None and loaded.epoch == 2 and float(loaded.model["w"][0]) == 2.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_drivers_on_one_study_reach_the_budget_and_train_no_spec_twice(
    backend: str, tmp_path: Path, scratch: Path, request: pytest.FixtureRequest
) -> None:
    """Two ``nas search`` processes, same config (same seed), same study, started apart."""
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
        try:
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


@pytest.mark.postgres
def test_a_storage_call_during_a_postgres_restart_waits_for_the_server(
    postgres: faults.Postgres,
) -> None:
    import threading

    study = optuna.create_study(storage=open_storage(postgres.url), study_name="restart-unit")
    study.set_user_attr("before", 1)
    postgres.stop()
    back = threading.Timer(3.0, postgres.start)
    back.start()
    started = time.monotonic()
    try:
        study.set_user_attr("during", 2)  # the pooled connection is dead, the server down
    finally:
        back.join()
    assert time.monotonic() - started >= 2.0, "it waited for the server"
    loaded = optuna.load_study(study_name="restart-unit", storage=open_storage(postgres.url))
    assert loaded.user_attrs == {"before": 1, "during": 2}


def test_a_trial_another_driver_took_over_is_left_to_its_copy(url: str) -> None:
    driver = _driver(url, trials=4)
    assert isinstance(driver.suggest("a"), dict)
    number = driver.ledger.flying["a"].trial.number
    assert claim(driver.study, driver.study.trials[number]), "as after a long silence"
    driver.on_trial_complete("a", _final(0.5))  # no error: the search goes on
    trials = driver.study.trials
    assert trials[number].user_attrs["fail_reason"] == INTERRUPTED
    assert [t.user_attrs.get("requeued_from") for t in trials].count(number) == 1
    assert not driver.ledger.flying


@pytest.mark.slow
def test_a_running_driver_takes_over_the_trials_of_one_killed_beside_it(
    tmp_path: Path, scratch: Path
) -> None:
    """Two drivers on one SQLite study; the second is SIGKILLed mid-trial: the first queues its
    trial again (the process is gone), trains it from its kept epoch and reaches the budget."""
    url, study = f"sqlite:///{tmp_path / 'nas.db'}", "takeover"
    config = write_search(tmp_path, study, trials=6, concurrency=1, epochs=4)
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
            second.sigkill()
        finally:
            second.kill_all()
        assert first.wait() == 0, first.tail()
    finally:
        first.kill_all()
    after = trials_of(url, study)
    assert_budget_and_no_duplicates(after, 6)
    assert after[killed.number].user_attrs["fail_reason"] == INTERRUPTED
    (copy,) = [t for t in after if t.user_attrs.get("requeued_from") == killed.number]
    assert copy.state == TrialState.COMPLETE
    assert copy.system_attrs[OWNER_ATTR]["pid"] == first.process.pid, "the first trained it"
    assert min(copy.intermediate_values) > 1, "from the epoch the killed driver kept"


@pytest.mark.postgres
def test_writes_going_on_while_postgres_restarts_all_land(postgres: faults.Postgres) -> None:
    import threading

    storage = open_storage(postgres.url)
    study = optuna.create_study(storage=storage, study_name="restart-writes")
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(400):
                study.set_user_attr(f"k{i}", i)
                time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.5)
    postgres.stop()  # "fast": the writer's connection is cut, mid-transaction or not
    time.sleep(2.0)
    postgres.start()
    writer.join(timeout=120)
    assert not errors, errors
    loaded = optuna.load_study(study_name="restart-writes", storage=open_storage(postgres.url))
    assert loaded.user_attrs == {f"k{i}": i for i in range(400)}


def test_a_lost_connection_is_told_from_other_storage_errors() -> None:
    import sqlalchemy.exc
    from optuna.exceptions import StorageInternalError

    from storage.patient import lost_connection

    cut = sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
    try:
        try:
            raise cut
        except sqlalchemy.exc.OperationalError as exc:
            raise StorageInternalError("An exception is raised during the commit.") from exc
    except StorageInternalError as wrapped:
        assert lost_connection(wrapped)
    assert not lost_connection(StorageInternalError("exceeding max length"))
    assert not lost_connection(ValueError("no such study"))
