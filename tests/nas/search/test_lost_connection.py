"""A lost database connection: storage calls wait for a restarted PostgreSQL server and every
write lands; a lost connection is told from other storage errors.

The server is the tests' own (:func:`tests.nas.faults.postgres`), skipped without PostgreSQL.
"""

from __future__ import annotations

import time

import optuna
import pytest

from storage import open_storage
from tests.nas import faults

optuna.logging.set_verbosity(optuna.logging.WARNING)
postgres = faults.postgres  # the server fixture shared with test_faults


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
