"""Replica trials folded into their spec: one front row per spec with the mean of its seeds.

A search trains ``[noise] specs`` reference designs again at other proxy seeds (trials with
``replica_of`` and ``seed``, docs/study-format.md) to measure the proxy's noise. For the front
they are not members of their own: every COMPLETE row of a replicated spec is folded into one,
the lowest-numbered trained one, whose score is the mean of one run per seed and whose
``proxy_runs`` user attribute lists those runs, so its estimate has n = seeds
(:func:`nas.results.front_noise.proxy_runs`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.rows import TrialRow

RUNS = "proxy_runs"
"""The user attribute a folded row carries: its score at each seed (not stored in a study)."""


def is_replica(trial: Any) -> bool:
    """Whether ``trial`` (a trial, frozen trial or row) is a replica: a reference design
    trained again at another ``[proxy] seed`` to measure the proxy's noise."""
    return "replica_of" in trial.user_attrs


def fold_replicas(complete: Sequence[TrialRow], score: int) -> list[TrialRow]:
    """``complete`` with each replicated spec's rows folded into one (column ``score`` is the
    mean of its seed runs); rows of specs without a replica are returned as they are."""
    replicated = {r.spec_id for r in complete if is_replica(r)} - {None}
    if not replicated:
        return list(complete)
    runs: dict[str, dict[object, float]] = {}
    first: dict[str, TrialRow] = {}
    for row in sorted(complete, key=lambda r: r.number):
        spec_id = row.spec_id
        if spec_id is None or spec_id not in replicated or row.values is None:
            continue
        if "reused_from" in row.user_attrs:
            continue
        first.setdefault(spec_id, row)
        runs.setdefault(spec_id, {}).setdefault(row.user_attrs.get("seed"), row.values[score])
    out = [r for r in complete if r.spec_id not in replicated]
    for spec_id, row in first.items():
        scores = list(runs[spec_id].values())
        values = list(row.values or ())
        values[score] = statistics.fmean(scores)
        attrs = {**row.user_attrs, RUNS: scores}
        out.append(replace(row, values=tuple(values), user_attrs=attrs))
    return sorted(out, key=lambda r: r.number)
