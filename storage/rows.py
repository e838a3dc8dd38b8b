"""What the read queries return: one row per study, one row per trial (plain, frozen data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["STATES", "StudySummary", "TrialRow"]

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
"""Optuna's trial states, in the order tables show them."""


@dataclass(frozen=True)
class StudySummary:
    """One study: objectives and how many trials it has in each state."""

    name: str
    directions: tuple[str, ...]
    metric_names: tuple[str, ...] | None
    counts: Mapping[str, int]
    created: datetime | None
    """Start of the study's first trial (Optuna stores no creation time); None if no trials."""

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "directions": list(self.directions),
            "metric_names": None if self.metric_names is None else list(self.metric_names),
            "n_trials": self.n_trials,
            "counts": {state: self.counts.get(state, 0) for state in STATES},
            "created": None if self.created is None else self.created.isoformat(),
        }


@dataclass(frozen=True)
class TrialRow:
    """One trial as the result readers need it (see docs/study-format.md)."""

    number: int
    state: str
    values: tuple[float, ...] | None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    n_intermediate: int = 0
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None

    @property
    def spec(self) -> dict[str, Any] | None:
        return self.user_attrs.get("spec")

    @property
    def spec_id(self) -> str | None:
        return self.user_attrs.get("spec_id")

    @property
    def macs(self) -> int | None:
        return self.user_attrs.get("macs")

    @property
    def params(self) -> int | None:
        return self.user_attrs.get("params")

    @property
    def reference(self) -> str | None:
        return self.user_attrs.get("reference")

    @property
    def fail_reason(self) -> str | None:
        return self.user_attrs.get("fail_reason")
