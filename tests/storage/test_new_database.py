"""Processes that open a new database in the same second all succeed (``storage.schema``).

Two drivers started together on a new PostgreSQL database used to fail one in two times with
``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``, and SQLite with
``table ... already exists``: each created Optuna's tables at once.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from storage import open_storage
from storage.queries import study_summaries
from storage.schema import opened_despite_racers
from tests.storage._workers import open_new

RACERS = 4
"""Without ``storage.schema``, 4 racers failed in 3 of 3 tries on SQLite and on PostgreSQL."""


@pytest.fixture
def new_database(storage_url: str, study_name: str) -> Iterator[str]:
    """``storage_url`` with no tables yet: on PostgreSQL (shared by tests) a new schema."""
    if not storage_url.startswith("postgresql"):
        yield storage_url
        return
    import psycopg

    schema = study_name.replace("-", "_")
    url = make_url(storage_url)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.slow  # RACERS spawned Python processes importing Optuna: ~20 s on 2 cores
def test_processes_opening_a_new_database_at_once_all_succeed(
    new_database: str, study_name: str
) -> None:
    spawn = multiprocessing.get_context("spawn")  # real, separate processes and connections
    barrier, results = spawn.Barrier(RACERS), spawn.Queue()
    racers = [
        spawn.Process(target=open_new, args=(new_database, study_name, barrier, results))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    try:
        outcomes = [results.get(timeout=300) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=60)
    errors = [error for _, error in outcomes if error]
    assert not errors, f"{len(errors)} of {RACERS} failed:\n" + "\n".join(errors)

    storage = open_storage(new_database)
    (summary,) = study_summaries(storage)
    assert (summary.name, summary.directions) == (study_name, ("maximize", "minimize"))
    assert {study for study, _ in outcomes} == {storage.get_study_id_from_name(study_name)}
    with storage.engine.connect() as connection:
        for table in ("version_info", "alembic_version"):
            count = connection.execute(sqlalchemy.text(f"SELECT COUNT(*) FROM {table}"))
            assert count.scalar() == 1, f"{table}: the schema was stamped more than once"


def _failing(sql: str, times: int) -> tuple[list[str], Callable[[], str]]:
    """A call that raises SQLite's real error for ``sql`` ``times`` times, then returns."""
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        connection.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
    calls: list[str] = []

    def open_once() -> str:
        calls.append(sql)
        if len(calls) <= times:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text(sql))
        return "opened"

    return calls, open_once


@pytest.mark.parametrize(
    "sql", ["INSERT INTO t VALUES (1)", "CREATE TABLE t (k INTEGER)"], ids=["key", "table"]
)
def test_a_lost_creation_race_is_opened_again(sql: str) -> None:
    calls, open_once = _failing(sql, times=2)
    assert opened_despite_racers(open_once) == "opened"
    assert len(calls) == 3


def test_any_other_error_is_raised_at_once() -> None:
    calls, open_once = _failing("SELECT * FROM missing", times=1)
    with pytest.raises(SQLAlchemyError, match="no such table"):
        opened_despite_racers(open_once)
    assert len(calls) == 1


def test_a_race_that_never_ends_is_raised_after_the_window() -> None:
    calls, open_once = _failing("INSERT INTO t VALUES (1)", times=1000)
    with pytest.raises(SQLAlchemyError, match="UNIQUE constraint failed"):
        opened_despite_racers(open_once, window_s=0.5)
    assert 1 < len(calls) < 20
