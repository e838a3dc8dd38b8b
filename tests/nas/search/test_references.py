"""Reference designs are queued once per study, however many drivers prepare it at once, and a
small budget gets a proportionate number of them (``nas.search.study``).

Two drivers started in the same second used to queue every reference twice (issue 28: 14
reference trials in a study of 8), each having checked ``references_enqueued`` before either
set it. The race runs in real spawned processes released together by a barrier, on a SQLite
file and on PostgreSQL when ``NAS_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.reference import REFERENCES
from nas.search.study import CLAIM, prepare_study, proportionate, reference_share
from nas.space import SearchSpace
from storage import open_storage
from storage.claims import claim_study_attr
from storage.internals import study_id
from tests.nas.search._racers import prepare

RACERS = 4
SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}
POSTGRES_ENV = "NAS_TEST_POSTGRES_URL"


def _postgres() -> object:
    url = os.environ.get(POSTGRES_ENV, "")
    marks = [pytest.mark.postgres]
    if not url:
        marks.append(pytest.mark.skip(reason=f"{POSTGRES_ENV} is not set"))
    return pytest.param(url, id="postgres", marks=marks)


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), _postgres()])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nas.db'}"
    return str(request.param)


def _raw(study: str, trials: int) -> dict[str, object]:
    return {"search": {"study": study, "trials": trials, "pruner": "none"}}


def _references(url: str, study: str) -> list[str]:
    loaded = optuna.load_study(study_name=study, storage=open_storage(url))
    waiting = loaded.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return [str(t.user_attrs["reference"]) for t in waiting if "reference" in t.user_attrs]


@pytest.mark.slow  # RACERS spawned Python processes importing Optuna and torch
def test_drivers_preparing_one_new_study_at_once_queue_each_reference_once(url: str) -> None:
    study = f"race-{uuid.uuid4().hex[:10]}"
    raw = _raw(study, trials=20)  # room for every reference
    open_storage(url)  # the schema exists: its own race is tests/storage/test_new_database.py
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(RACERS), spawn.Queue()
    racers = [
        spawn.Process(target=prepare, args=(url, raw, barrier, results)) for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    try:
        notes = [results.get(timeout=300) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=60)
    errors = [n[1] for n in notes if n and n[0] == "error"]
    assert not errors, "\n".join(errors)
    for what in ("reference designs", "replicas"):
        queued = [n for racer in notes for n in racer if n.startswith("queued") and what in n]
        assert len(queued) == 1, f"{len(queued)} of {RACERS} drivers queued the {what}"
    counts = Counter(_references(url, study))
    assert set(counts) == set(REFERENCES) and set(counts.values()) == {1}, counts
    loaded = optuna.load_study(study_name=study, storage=open_storage(url))
    replicas = [t.user_attrs["replica_of"] for t in loaded.trials if "replica_of" in t.user_attrs]
    assert sorted(replicas) == [0, 1], replicas  # [noise] defaults: 2 designs, 1 replica each


@pytest.mark.parametrize(
    ("trials", "replicas", "share"),
    [(1, 0, 1), (2, 0, 1), (3, 0, 1), (8, 0, 4), (14, 0, 7), (40, 20, 1), (3, 2, 1), (12, 2, 4)],
)
def test_references_and_their_replicas_take_at_most_half_the_budget(
    trials: int, replicas: int, share: int
) -> None:
    assert reference_share(trials, replicas) == share
    names = list(proportionate(dict.fromkeys(REFERENCES), trials, replicas))
    assert names == list(REFERENCES)[:share] and names[0] == "no_attention"


def test_a_small_study_queues_the_baseline_first_and_says_what_it_left_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    config = SearchConfig.from_dict(_raw("small", trials=8))
    space = SearchSpace(config.space, **SHAPE)
    _, notes = prepare_study(config, open_storage(url), space)
    # [noise] defaults: 2 replicas, so 8 trials are 2 references + 2 replicas + 4 sampled
    assert _references(url, "small") == ["no_attention", "se_branch"]
    assert "queued 2 reference designs: no_attention, se_branch" in notes
    assert any(n.startswith("left out 5 reference designs for a budget of 8 trials") for n in notes)
    assert any(
        n.startswith("queued 2 replicas of no_attention, se_branch at proxy seed 1 ") for n in notes
    )
    _, again = prepare_study(config, open_storage(url), space)
    assert again == [] and len(_references(url, "small")) == 2, "queued once per study"


def test_only_the_first_claim_of_a_study_attribute_wins(url: str) -> None:
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=f"claim-{uuid.uuid4().hex[:10]}")
    sid = study_id(study)
    assert claim_study_attr(storage, sid, CLAIM, ["a"]) is True
    assert claim_study_attr(storage, sid, CLAIM, ["b"]) is False
    assert study.user_attrs[CLAIM] == ["a"], "the loser wrote nothing"
