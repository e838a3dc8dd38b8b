"""A study's trials as the rows Optuna stores them, read in a handful of SQL statements.

``RDBStorage.get_all_trials`` builds every ``FrozenTrial`` through the ORM (a session, one
object per row, every distribution parsed per trial): 15-20 s for 10,000 trials on a shared
2-core machine. The dashboard's study page (:mod:`nas.commands._dashboard_page`) needs the
same data as plain rows, once per finished trial, so this reads Optuna's tables directly:
one statement per table, filtered to the trials asked for, each column as stored (parameters
as their internal value and distribution JSON, attributes as their JSON text), so a reader
parses each distinct distribution once instead of once per trial. Nothing here writes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial
from sqlalchemy import DateTime, bindparam, text

from storage import internals
from storage.queries import local_time

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.storages import BaseStorage
    from sqlalchemy.engine import Connection

__all__ = ["StoredTrial", "frozen_trials", "stored_trials", "trial_states"]

_SPECIAL = {"INF_POS": float("inf"), "INF_NEG": float("-inf"), "NAN": float("nan")}
"""Values Optuna stores as a type with a NULL value (``TrialValueType``, and NaN for epochs)."""
_BATCH = 500
"""Trial ids per ``IN (...)`` when only some trials are read (SQLite allows 32,766 in all)."""


@dataclass(frozen=True)
class StoredTrial:
    """One trial's rows, in the order Optuna builds a ``FrozenTrial`` from them."""

    trial_id: int
    number: int
    state: str
    """``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING`` or ``WAITING``."""
    datetime_start: datetime | None
    datetime_complete: datetime | None
    params: tuple[tuple[str, float, str], ...]
    """``(name, internal value, distribution JSON)`` by parameter id, as Optuna orders them."""
    values: tuple[float, ...] | None
    intermediate_values: tuple[tuple[int, float], ...]
    """``(step, value)`` by step."""
    user_attrs: tuple[tuple[str, str], ...]
    """``(key, value JSON)`` by key."""
    system_attrs: tuple[tuple[str, str], ...]

    @property
    def finished(self) -> bool:
        """Optuna refuses to change a COMPLETE, PRUNED or FAIL trial: its rows are final."""
        return self.state in ("COMPLETE", "PRUNED", "FAIL")


def trial_states(
    storage: BaseStorage, study_id: int
) -> list[tuple[int, int, str, datetime | None]]:
    """``(trial_id, number, state, datetime_start)`` of every trial of the study, by trial id:
    one cheap query that says which trials are new or still running (and, by their start, which
    are another trial under an id SQLite gave again after a study was deleted)."""
    rdb = _rdb(storage)
    statement = text(
        "SELECT trial_id, number, state, datetime_start FROM trials WHERE study_id = :sid"
        " ORDER BY trial_id"
    ).columns(datetime_start=DateTime)
    with rdb.engine.connect() as connection:
        rows = connection.execute(statement, {"sid": study_id}).all()
    return [(int(i), int(n), str(s), local_time(start)) for i, n, s, start in rows]


def stored_trials(
    storage: BaseStorage, study_id: int, trial_ids: Collection[int] | None = None
) -> list[StoredTrial]:
    """The study's trials (``trial_ids`` only, if given), by trial id."""
    rdb = _rdb(storage)
    with rdb.engine.connect() as connection:
        if trial_ids is None:
            return _read(connection, "t.study_id = :sid", {"sid": study_id})
        wanted = sorted(trial_ids)
        found: list[StoredTrial] = []
        for start in range(0, len(wanted), _BATCH):
            ids = wanted[start : start + _BATCH]
            where = "t.study_id = :sid AND t.trial_id IN :ids"
            found += _read(connection, where, {"sid": study_id, "ids": ids})
        return found


def frozen_trials(storage: BaseStorage, study_id: int) -> list[FrozenTrial]:
    """The study's trials as ``get_all_trials(study_id, deepcopy=False)`` returns them, built
    from :func:`stored_trials` (each distinct distribution parsed once, shared by the trials
    that have it): for a reader that needs ``FrozenTrial`` objects of a large study."""
    from optuna.distributions import json_to_distribution
    from optuna.trial import TrialState

    parsed: dict[str, BaseDistribution] = {}

    def distribution(stored: str) -> BaseDistribution:
        if stored not in parsed:
            parsed[stored] = json_to_distribution(stored)
        return parsed[stored]

    return [
        FrozenTrial(
            number=trial.number,
            state=TrialState[trial.state],
            value=None,
            values=None if trial.values is None else list(trial.values),
            datetime_start=trial.datetime_start,
            datetime_complete=trial.datetime_complete,
            params={n: distribution(d).to_external_repr(v) for n, v, d in trial.params},
            distributions={n: distribution(d) for n, _, d in trial.params},
            user_attrs={k: json.loads(v) for k, v in trial.user_attrs},
            system_attrs={k: json.loads(v) for k, v in trial.system_attrs},
            intermediate_values=dict(trial.intermediate_values),
            trial_id=trial.trial_id,
        )
        for trial in stored_trials(storage, study_id)
    ]


def _rdb(storage: BaseStorage) -> Any:
    rdb = internals.rdb_storage(storage)
    if rdb is None:
        raise ValueError(f"{type(storage).__name__} is not a database storage: read it by its API")
    return rdb


def _rows(connection: Connection, sql: str, params: dict[str, Any], **types: Any) -> Sequence[Any]:
    statement = text(sql)
    if "ids" in params:
        statement = statement.bindparams(bindparam("ids", expanding=True))
    return connection.execute(statement.columns(**types) if types else statement, params).all()


def _read(connection: Connection, where: str, params: dict[str, Any]) -> list[StoredTrial]:
    join = f"JOIN trials t ON t.trial_id = x.trial_id WHERE {where}"
    trials = _rows(
        connection,
        "SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete "
        f"FROM trials t WHERE {where} ORDER BY t.trial_id",
        params,
        datetime_start=DateTime,
        datetime_complete=DateTime,
    )
    if not trials:
        return []
    params_of: dict[int, list[tuple[str, float, str]]] = defaultdict(list)
    for trial_id, name, value, distribution in _rows(
        connection,
        "SELECT x.trial_id, x.param_name, x.param_value, x.distribution_json "
        f"FROM trial_params x {join} ORDER BY x.param_id",
        params,
    ):
        params_of[trial_id].append((name, value, distribution))
    values_of: dict[int, dict[int, float]] = defaultdict(dict)
    for trial_id, objective, value, kind in _rows(
        connection,
        f"SELECT x.trial_id, x.objective, x.value, x.value_type FROM trial_values x {join}",
        params,
    ):
        values_of[trial_id][int(objective)] = _value(kind, value)
    steps_of: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for trial_id, step, value, kind in _rows(
        connection,
        "SELECT x.trial_id, x.step, x.intermediate_value, x.intermediate_value_type "
        f"FROM trial_intermediate_values x {join} ORDER BY x.trial_id, x.step",
        params,
    ):
        steps_of[trial_id].append((int(step), _value(kind, value)))
    user_of = _attrs(connection, "trial_user_attributes", join, params)
    system_of = _attrs(connection, "trial_system_attributes", join, params)
    return [
        StoredTrial(
            trial_id=trial_id,
            number=number,
            state=str(state),
            datetime_start=local_time(start),
            datetime_complete=local_time(complete),
            params=tuple(params_of.get(trial_id, ())),
            values=_in_order(values_of.get(trial_id)),
            intermediate_values=tuple(steps_of.get(trial_id, ())),
            user_attrs=tuple(user_of.get(trial_id, ())),
            system_attrs=tuple(system_of.get(trial_id, ())),
        )
        for trial_id, number, state, start, complete in trials
    ]


def _attrs(
    connection: Connection, table: str, join: str, params: dict[str, Any]
) -> dict[int, list[tuple[str, str]]]:
    """A trial's attributes by key: the order Optuna's own read returns them in on SQLite (the
    unique index on trial and key), which Optuna leaves to the database."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    sql = f"SELECT x.trial_id, x.key, x.value_json FROM {table} x {join} ORDER BY x.trial_id, x.key"
    for trial_id, name, value_json in _rows(connection, sql, params):
        found[trial_id].append((name, value_json))
    return found


def _value(kind: Any, value: Any) -> float:
    special = _SPECIAL.get(str(kind))
    return float(value) if special is None else special


def _in_order(by_objective: dict[int, float] | None) -> tuple[float, ...] | None:
    if not by_objective:
        return None
    return tuple(float(by_objective[i]) for i in sorted(by_objective))
