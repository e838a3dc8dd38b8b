"""Who goes on at a rung: non-dominated sorting, then crowding distance inside a front.

MO-ASHA (Schmucker et al., "Multi-objective Asynchronous Successive Halving", 2021,
https://arxiv.org/abs/2106.12639) replaces ASHA's sort by one metric with a multi-objective
order: trials are ordered by non-dominated front (NSGA-II's sorting, Deb et al. 2002), and
inside a front by a tie-breaker that spreads the survivors along it. We break ties by NSGA-II
crowding distance rather than MO-ASHA's epsilon-net: crowding is scale-free (each objective is
divided by its range over the front, so accuracy in [0, 1] and MACs in the billions weigh the
same), needs no epsilon to tune, and gives the two ends of every front an infinite distance, so
the cheapest and the most accurate trial of a front are the last of it to be dropped: the cheap
end of the accuracy/MACs front is protected by construction.

Both come from :mod:`nas.results.pareto`; this module only turns them into an order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nas.results.pareto import crowding_distance, nondominated_ranks


def front_crowding(values: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Float ``(n,)``: crowding distance of each row computed within its own front.

    Args:
        values: ``(n, m)`` objective values.
        ranks: ``(n,)`` front index of each row (:func:`nas.results.pareto.nondominated_ranks`).
    """
    crowding = np.empty(len(ranks))
    for front in np.unique(ranks):
        members = ranks == front
        crowding[members] = crowding_distance(values[members])
    return crowding


def places_ahead(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Int ``(n,)``: how many rows rank strictly ahead of each row.

    The order is (front ascending, crowding distance descending). Rows that tie on both count
    as equals, so a row's place is that of the first of its tie group: two ``inf``-crowded ends
    of a front share a place. ``places_ahead(...) < k`` is the top-``k`` with ties kept, the same
    leniency as Optuna's ``SuccessiveHalvingPruner``.

    Args:
        values: ``(n, m)`` finite objective values, one row per trial at the rung.
        directions: ``"maximize"``/``"minimize"`` per column.
    """
    points = np.asarray(values, dtype=float)
    ranks = nondominated_ranks(points, directions)
    crowding = front_crowding(points, ranks)
    order = np.lexsort((-crowding, ranks))
    sorted_ranks, sorted_crowding = ranks[order], crowding[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (sorted_ranks[1:] != sorted_ranks[:-1]) | (
        sorted_crowding[1:] != sorted_crowding[:-1]
    )
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    ahead = np.empty(len(order), dtype=int)
    ahead[order] = group_start
    return ahead


def survivors(values: np.ndarray, directions: Sequence[str], reduction_factor: int) -> np.ndarray:
    """Bool ``(n,)``: the rows that rank within the top ``ceil(n / reduction_factor)``."""
    n = len(values)
    keep = -(-n // reduction_factor)
    return places_ahead(values, directions) < keep
