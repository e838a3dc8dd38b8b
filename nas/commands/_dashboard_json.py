"""A trial as optuna-dashboard's study page sends it, serialised once from its stored rows.

optuna-dashboard's ``serialize_frozen_trial`` rebuilds every trial's JSON on every load, each
parameter with its distribution's whole choice list (``{"pytype": "<class 'str'>", ...}`` per
choice: 6 of a trial's 10 KB in the default space). Here a finished trial is serialised once,
from the rows :mod:`storage.trial_dump` reads, into the same bytes ``json.dumps`` gives for
optuna-dashboard's dict (same keys, order and separators); each distinct parameter (name,
value, distribution) is serialised once and reused, the distribution through
optuna-dashboard's own ``serialize_distribution``. ``tests/nas/test_dashboard_page.py`` holds
the whole page equal to optuna-dashboard's own answer for the same study.

The two parts that live in the study's system attributes (a trial's note, artifacts uploaded
through the dashboard) are left out of the kept bytes and filled in per load
(:meth:`TrialJson.with_study_attrs`), so editing a note never stales a kept trial.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii as _string
from typing import Any

from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import TrialState

from nas.commands._dashboard_upstream import (
    MAX_ATTR_LENGTH,
    get_note_from_system_attrs,
    serialize_distribution,
)
from storage.trial_dump import StoredTrial

_INF = float("inf")
_NO_NOTE = json.dumps({"version": 0, "body": ""})
_STUDY_ARTIFACTS = "dashboard:artifacts:"
"""Key prefix of an artifact uploaded through older dashboards: ``dashboard:artifacts:<trial
id>:<artifact id>`` in the study's system attributes (optuna-dashboard still lists them)."""
_TRIAL_ARTIFACTS = "artifacts:"
"""Key prefix of ``optuna.artifacts.upload_artifact``'s record in a trial's system attrs."""


@dataclass(frozen=True)
class TrialJson:
    """One trial's JSON (``plain``: with no note and no study-level artifacts) and what the
    study-level parts of the page need from it."""

    trial_id: int
    number: int
    state: TrialState
    datetime_start: datetime | None
    values: tuple[float, ...] | None
    signature: tuple[tuple[str, str], ...]
    """``(name, distribution JSON)`` of its parameters: few distinct ones in a study."""
    attr_kinds: tuple[tuple[str, bool], ...]
    """``(user attribute, sortable)``: a real number and not a bool is sortable."""
    has_steps: bool
    plain: bytes
    note_at: int
    """Where the note's JSON starts in ``plain``; the artifacts' list follows it."""
    artifacts: tuple[Any, ...]
    """Its own artifacts (trial system attributes), which follow the study-level ones."""
    tail_at: int
    """Where the part after the artifacts' list starts in ``plain``."""

    def with_study_attrs(self, system_attrs: dict[str, Any]) -> bytes:
        """``plain`` with the note and the artifacts the study's attributes hold for it."""
        note = get_note_from_system_attrs(system_attrs, self.trial_id)
        prefix = f"{_STUDY_ARTIFACTS}{self.trial_id}:"
        older = [json.loads(v) for k, v in system_attrs.items() if k.startswith(prefix)]
        artifacts = [a for a in [*older, *self.artifacts] if a is not None]
        middle = f'{json.dumps(note)}, "artifacts": {json.dumps(artifacts)}'
        return self.plain[: self.note_at] + middle.encode() + self.plain[self.tail_at :]


def trials_with_study_attrs(system_attrs: dict[str, Any]) -> set[int]:
    """Ids of the trials whose JSON the study's system attributes change (a note, an artifact
    uploaded through an older dashboard); every other trial is sent as ``plain``."""
    found = set()
    for key in system_attrs:
        if key.startswith(_STUDY_ARTIFACTS):
            head = key[len(_STUDY_ARTIFACTS) :].split(":", 1)[0]
        elif key.startswith("dashboard:") and key.count(":") >= 2:
            head = key.split(":", 2)[1]  # dashboard:<trial id>:note_ver / note_str:<i>
        else:
            continue
        if head.isdigit():
            found.add(int(head))
    return found


class Serializer:
    """Turns stored trials into :class:`TrialJson`, each distinct parameter serialised once."""

    def __init__(self) -> None:
        self._distributions: dict[str, tuple[BaseDistribution, str]] = {}
        self._params: dict[tuple[str, float, str], str] = {}

    def distribution(self, stored: str) -> BaseDistribution:
        """The distribution a ``distribution_json`` column holds (parsed once per text)."""
        return self._parsed(stored)[0]

    def trial(self, study_id: int, trial: StoredTrial) -> TrialJson:
        user_attrs = [_attr(key, stored) for key, stored in trial.user_attrs]
        system_attrs = dict(
            zip(_keys(trial.system_attrs), _values(trial.system_attrs), strict=True)
        )
        fixed = system_attrs.get("fixed_params", {})
        artifacts = tuple(
            json.loads(value)
            for key, value in system_attrs.items()
            if key.startswith(_TRIAL_ARTIFACTS)
        )
        state = TrialState[trial.state]
        head = (
            f'{{"trial_id": {trial.trial_id}, "study_id": {study_id}, "number": {trial.number},'
            f' "state": "{state.name.capitalize()}",'
            f' "params": [{", ".join(self._param(*p) for p in trial.params)}],'
            f' "fixed_params": {_dumps(_fixed(fixed))},'
            f' "user_attrs": [{", ".join(shown for _, shown, _ in user_attrs)}],'
            ' "note": '
        )
        middle = f'{_NO_NOTE}, "artifacts": {_dumps([a for a in artifacts if a is not None])}'
        steps = ", ".join(
            f'{{"step": {step}, "value": {_number(value)}}}'
            for step, value in sorted(trial.intermediate_values, key=lambda sv: sv[0])
        )
        tail = (
            f', "constraints": {_dumps(system_attrs.get("constraints", []))},'
            f' "intermediate_values": [{steps}]'
        )
        if trial.values is not None:
            tail += f', "values": [{", ".join(_number(v) for v in trial.values)}]'
        if trial.datetime_start is not None:
            tail += f', "datetime_start": "{trial.datetime_start.isoformat()}"'
        if trial.datetime_complete is not None:
            tail += f', "datetime_complete": "{trial.datetime_complete.isoformat()}"'
        encoded = [part.encode() for part in (head, middle, tail + "}")]
        return TrialJson(
            trial_id=trial.trial_id,
            number=trial.number,
            datetime_start=trial.datetime_start,
            state=state,
            values=trial.values,
            signature=tuple((name, stored) for name, _, stored in trial.params),
            attr_kinds=tuple((key, sortable) for key, _, sortable in user_attrs),
            has_steps=bool(trial.intermediate_values),
            plain=b"".join(encoded),
            note_at=len(encoded[0]),
            artifacts=artifacts,
            tail_at=len(encoded[0]) + len(encoded[1]),
        )

    def _parsed(self, stored: str) -> tuple[BaseDistribution, str]:
        found = self._distributions.get(stored)
        if found is None:
            distribution = json_to_distribution(stored)
            found = distribution, json.dumps(serialize_distribution(distribution))
            self._distributions[stored] = found
        return found

    def _param(self, name: str, internal: float, stored: str) -> str:
        key = (name, internal, stored)
        found = self._params.get(key)
        if found is None:
            distribution, as_json = self._parsed(stored)
            external = distribution.to_external_repr(internal)
            head = {
                "name": name,
                "param_internal_value": distribution.to_internal_repr(external),
                "param_external_value": str(external),
                "param_external_pytyp": str(type(external)),
            }
            found = f'{json.dumps(head)[:-1]}, "distribution": {as_json}}}'
            self._params[key] = found
        return found


def _fixed(fixed: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": n, "param_external_value": str(fixed.get(n))} for n in fixed]


def _keys(rows: tuple[tuple[str, str], ...]) -> list[str]:
    return [key for key, _ in rows]


def _values(rows: tuple[tuple[str, str], ...]) -> list[Any]:
    """The JSON columns of a trial's attributes, parsed in one call."""
    return list(json.loads(f"[{', '.join(value for _, value in rows)}]"))


def _dumps(value: Any) -> str:
    return "[]" if isinstance(value, list) and not value else json.dumps(value)


def _attr(key: str, stored: str) -> tuple[str, str, bool]:
    """One user attribute as optuna-dashboard's ``serialize_attrs`` sends it, and whether it
    sorts (a real number, not a bool).

    A string or a container is sent as its JSON, which the column holds already: Optuna writes
    it with ``json.dumps``, and ``json.dumps(json.loads(text)) == text`` for such text, so the
    round trip optuna-dashboard makes is skipped (most of a trial's bytes: ``spec``, ``proxy``).
    """
    if stored[:1] == '"':
        return key, f'{{"key": {_string(key)}, "value": {stored}}}', False
    if stored[:1] in ("{", "["):
        shown = stored[:MAX_ATTR_LENGTH]
        return key, f'{{"key": {_string(key)}, "value": {_string(shown)}}}', False
    value = json.loads(stored)
    if isinstance(value, str | numbers.Real):
        shown = str(value)
    else:
        shown = json.dumps(value)[:MAX_ATTR_LENGTH]
    sortable = not isinstance(value, bool) and isinstance(value, numbers.Real)
    return key, f'{{"key": {_string(key)}, "value": {_string(shown)}}}', sortable


def _number(value: float) -> str:
    """A value as optuna-dashboard sends it: infinities and NaN as strings."""
    if value != value:
        return '"nan"'
    if value in (_INF, -_INF):
        return '"inf"' if value > 0 else '"-inf"'
    return repr(float(value))
