"""Read-only queries the CLI needs, fast for studies of 10,000 trials.

On an ``RDBStorage`` they are a handful of set-based SQL statements over Optuna's own tables
(``studies``, ``trials``, ``trial_values``, ``trial_user_attributes``, ...), instead of
``get_all_trials``, which builds every ``FrozenTrial`` with its params and distributions.
Any other Optuna storage (in-memory, journal) is read through the public API, and the contract
tests check that both paths agree. Nothing here writes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Integer, String, bindparam, text

from storage import internals
from storage.rows import STATES, StudySummary, TrialRow

if TYPE_CHECKING:
    from optuna.storages import BaseStorage, RDBStorage
    from sqlalchemy.engine import Connection

__all__ = [
    "STATES",
    "StudySummary",
    "TrialRow",
    "find_study_id",
    "local_time",
    "study_summaries",
    "trial_table",
]

_UTC_SINCE = 5
"""Optuna major version since which RDB columns hold naive UTC (optuna/optuna#6776); the public
API, and so these queries, return naive local time either way."""
_INFINITE = {"INF_POS": float("inf"), "INF_NEG": float("-inf")}


def study_summaries(storage: BaseStorage) -> list[StudySummary]:
    """Every study in ``storage``, oldest first, with trial counts by state."""
    rdb = internals.rdb_storage(storage)
    if rdb is None:
        return _summaries_public(storage)
    with rdb.engine.connect() as connection:
        studies = connection.execute(
            text("SELECT study_id, study_name FROM studies ORDER BY study_id")
        ).all()
        directions: dict[int, list[str]] = defaultdict(list)
        for study_id, direction in connection.execute(
            text("SELECT study_id, direction FROM study_directions ORDER BY study_id, objective")
        ):
            directions[study_id].append(str(direction).lower())
        metric_names = {
            study_id: tuple(json.loads(value))
            for study_id, value in connection.execute(
                text("SELECT study_id, value_json FROM study_system_attributes WHERE key = :key"),
                {"key": internals.METRIC_NAMES_KEY},
            )
        }
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        created: dict[int, datetime] = {}
        statement = text(
            "SELECT study_id, state, COUNT(*) AS n, MIN(datetime_start) AS first "
            "FROM trials GROUP BY study_id, state"
        ).columns(study_id=Integer, state=String, n=Integer, first=DateTime)
        for study_id, state, n, first in connection.execute(statement):
            counts[study_id][str(state)] += n
            if first is not None and (study_id not in created or first < created[study_id]):
                created[study_id] = first
    return [
        StudySummary(
            name,
            tuple(directions[study_id]),
            metric_names.get(study_id),
            dict(counts[study_id]),
            local_time(created.get(study_id)),
        )
        for study_id, name in studies
    ]


def _summaries_public(storage: BaseStorage) -> list[StudySummary]:
    summaries = []
    for study in sorted(storage.get_all_studies(), key=internals.study_id):
        trials = storage.get_all_trials(internals.study_id(study), deepcopy=False)
        starts = [t.datetime_start for t in trials if t.datetime_start is not None]
        names = study.system_attrs.get(internals.METRIC_NAMES_KEY)
        summaries.append(
            StudySummary(
                study.study_name,
                tuple(d.name.lower() for d in study.directions),
                None if names is None else tuple(names),
                dict(Counter(t.state.name for t in trials)),
                min(starts) if starts else None,
            )
        )
    return summaries


def find_study_id(storage: BaseStorage, study_name: str) -> int:
    """The id of ``study_name``; ``ValueError`` listing the studies there if it is missing."""
    from optuna.exceptions import OptunaError

    try:
        return storage.get_study_id_from_name(study_name)
    except (KeyError, OptunaError):
        names = [s.study_name for s in storage.get_all_studies()]
        rdb = internals.rdb_storage(storage)
        where = "this storage" if rdb is None else _redacted(rdb.url)
        there = f"studies there: {', '.join(names)}" if names else "it has no studies yet"
        raise ValueError(f"study {study_name!r} not found in {where}; {there}") from None


def _redacted(url: str) -> str:
    from storage.urls import redact

    return redact(url)


def trial_table(
    storage: BaseStorage,
    study_name: str,
    keys: Sequence[str] | None = None,
    numbers: Collection[int] | None = None,
) -> list[TrialRow]:
    """The trials of ``study_name`` by number.

    ``keys`` limits the user_attrs read (None: all); ``numbers`` limits the trials (None: all),
    e.g. to read the large ``spec`` attribute of the front members only.
    """
    study_id = find_study_id(storage, study_name)
    rdb = internals.rdb_storage(storage)
    if rdb is None:
        return _table_public(storage, study_id, keys, numbers)
    return _table_sql(rdb, study_id, keys, numbers)


def _select(
    connection: Connection, sql: str, params: Mapping[str, Any], **types: Any
) -> Sequence[Any]:
    """Run ``sql``: list-valued ``params`` expand into ``IN (...)``, ``types`` type columns."""
    statement = text(sql)
    lists = [name for name, value in params.items() if isinstance(value, list)]
    if lists:
        statement = statement.bindparams(*(bindparam(name, expanding=True) for name in lists))
    typed = statement.columns(**types) if types else statement
    return connection.execute(typed, dict(params)).all()


def _table_sql(
    rdb: RDBStorage,
    study_id: int,
    keys: Sequence[str] | None,
    numbers: Collection[int] | None,
) -> list[TrialRow]:
    where = "t.study_id = :sid"
    params: dict[str, Any] = {"sid": study_id}
    if numbers is not None:
        where += " AND t.number IN :numbers"
        params["numbers"] = sorted(numbers)
    join = f"JOIN trials t ON t.trial_id = x.trial_id WHERE {where}"
    with rdb.engine.connect() as connection:
        trials = _select(
            connection,
            "SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete "
            f"FROM trials t WHERE {where} ORDER BY t.number",
            params,
            datetime_start=DateTime,
            datetime_complete=DateTime,
        )
        values: dict[int, dict[int, float]] = defaultdict(dict)
        value_sql = "SELECT x.trial_id, x.objective, x.value, x.value_type FROM trial_values x"
        for trial_id, objective, value, value_type in _select(
            connection, f"{value_sql} {join}", params
        ):
            values[trial_id][objective] = _INFINITE.get(str(value_type), value)
        attr_sql = f"SELECT x.trial_id, x.key, x.value_json FROM trial_user_attributes x {join}"
        attr_params = dict(params)
        if keys is not None:
            attr_sql += " AND x.key IN :keys"
            attr_params["keys"] = list(keys)
        attrs: dict[int, dict[str, Any]] = defaultdict(dict)
        for trial_id, key, value_json in _select(connection, attr_sql, attr_params):
            attrs[trial_id][key] = json.loads(value_json)
        count_sql = "SELECT x.trial_id, COUNT(*) FROM trial_intermediate_values x"
        n_intermediate = {
            trial_id: int(n)
            for trial_id, n in _select(
                connection, f"{count_sql} {join} GROUP BY x.trial_id", params
            )
        }
    return [
        TrialRow(
            number=number,
            state=str(state),
            values=_ordered(values.get(trial_id)),
            user_attrs=attrs.get(trial_id, {}),
            n_intermediate=n_intermediate.get(trial_id, 0),
            datetime_start=local_time(start),
            datetime_complete=local_time(complete),
        )
        for trial_id, number, state, start, complete in trials
    ]


def local_time(stored: datetime | None) -> datetime | None:
    """A ``datetime_start``/``datetime_complete`` column as Optuna's API shows it (naive local)."""
    if stored is None or not _stores_utc():
        return stored
    return stored.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


@cache
def _stores_utc() -> bool:
    import optuna

    return int(optuna.__version__.split(".")[0]) >= _UTC_SINCE


def _ordered(by_objective: Mapping[int, float] | None) -> tuple[float, ...] | None:
    if not by_objective:
        return None
    return tuple(float(by_objective[i]) for i in sorted(by_objective))


def _table_public(
    storage: BaseStorage,
    study_id: int,
    keys: Sequence[str] | None,
    numbers: Collection[int] | None,
) -> list[TrialRow]:
    rows = []
    for trial in storage.get_all_trials(study_id, deepcopy=False):
        if numbers is not None and trial.number not in numbers:
            continue
        attrs = trial.user_attrs
        if keys is not None:
            attrs = {k: v for k, v in attrs.items() if k in keys}
        rows.append(
            TrialRow(
                number=trial.number,
                state=trial.state.name,
                values=None if trial.values is None else tuple(map(float, trial.values)),
                user_attrs=dict(attrs),
                n_intermediate=len(trial.intermediate_values),
                datetime_start=trial.datetime_start,
                datetime_complete=trial.datetime_complete,
            )
        )
    return sorted(rows, key=lambda row: row.number)
