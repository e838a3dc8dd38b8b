"""Pareto fronts on stored objective values: dominance, ranks, crowding, hypervolume, knee.

Every function takes ``values`` as a float array of shape ``(n, m)`` (one row per trial, one
column per objective) and, where the sense matters, ``directions``: one ``"maximize"`` or
``"minimize"`` per column, as Optuna stores them (``study.directions``, lower-cased names).

Dominance follows Deb et al., "A fast and elitist multiobjective genetic algorithm: NSGA-II",
IEEE TEC 2002 (https://doi.org/10.1109/4235.996017): ``a`` dominates ``b`` when ``a`` is no
worse in every objective and strictly better in at least one. Identical points do not dominate
each other, so duplicates share a front.

For two objectives (the accuracy/MACs case) everything is a sort plus one scan, O(n log n);
10,000 points take about 10 ms. More objectives use ENS-BS, a sort plus one pass comparing
each point with a few fronts (well under a second for 10,000 points and three objectives).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

__all__ = [
    "crowding_distance",
    "hypervolume_2d",
    "knee_index",
    "nondominated_ranks",
    "pareto_mask",
]

_SIGNS = {"minimize": 1.0, "maximize": -1.0}


def _to_minimization(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """``values`` as float ``(n, m)`` with maximized columns negated, so smaller is better."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, len(directions))
    if array.ndim != 2:
        raise ValueError(f"values: expected a 2-D array (n, m), got shape {array.shape}")
    if array.shape[1] != len(directions):
        raise ValueError(
            f"directions: {len(directions)} given for {array.shape[1]} objectives; "
            "give one 'maximize' or 'minimize' per column"
        )
    signs = []
    for direction in directions:
        name = str(getattr(direction, "name", direction)).lower()
        if name not in _SIGNS:
            raise ValueError(f"directions: {direction!r}; allowed: maximize, minimize")
        signs.append(_SIGNS[name])
    if np.isnan(array).any():
        raise ValueError("values: contain NaN; keep only COMPLETE trials with finite objectives")
    return array * np.asarray(signs)


def _lexsort_2d(points: np.ndarray) -> np.ndarray:
    """Indices ordering ``(n, 2)`` points by the first objective, then the second."""
    return np.lexsort((points[:, 1], points[:, 0]))


def _group_starts(sorted_points: np.ndarray) -> np.ndarray:
    """For each sorted row, the position of the first row of its run of identical rows."""
    n = len(sorted_points)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = np.any(sorted_points[1:] != sorted_points[:-1], axis=1)
    return np.maximum.accumulate(np.where(new_group, np.arange(n), 0))


def _pareto_mask_2d(points: np.ndarray) -> np.ndarray:
    order = _lexsort_2d(points)
    ranked = points[order]
    starts = _group_starts(ranked)
    running_min = np.minimum.accumulate(ranked[:, 1])
    before_group = np.where(starts > 0, running_min[np.maximum(starts - 1, 0)], np.inf)
    mask = np.empty(len(points), dtype=bool)
    mask[order] = before_group > ranked[:, 1]
    return mask


class _Rows:
    """A growable ``(k, m)`` float buffer (amortised O(1) append, views without copies)."""

    def __init__(self, m: int) -> None:
        self._data = np.empty((16, m))
        self._size = 0

    def append(self, row: np.ndarray) -> None:
        if self._size == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self._size] = row
        self._size += 1

    def view(self) -> np.ndarray:
        return self._data[: self._size]


def _dominated_by_any(members: np.ndarray, point: np.ndarray) -> bool:
    """Whether some row of ``members`` ``(k, m)`` dominates ``point`` ``(m,)``.

    Only called with members distinct from ``point`` (duplicates are never placed in fronts),
    so "no worse everywhere" already implies "strictly better somewhere".
    """
    return bool((members <= point).all(axis=1).any())


def _ranks_nd(points: np.ndarray, first_front_only: bool = False) -> np.ndarray:
    """Front index per point, any number of objectives (ENS-BS: Zhang et al., "An efficient
    approach to nondominated sorting for evolutionary multiobjective optimization", IEEE TEC
    2015, https://doi.org/10.1109/TEVC.2014.2308305).

    Points are visited in lexicographic order, so a point can only be dominated by points
    already placed. Each goes to the first front with no member dominating it; since every
    member of front ``k`` is dominated by one of front ``k - 1``, "dominated by front k" is
    monotone in ``k`` and a binary search finds the front. With ``first_front_only`` points
    that do not join front 0 get rank 1 and are not placed further (enough for a mask).
    """
    order = np.lexsort(points.T[::-1])
    ranked = points[order]
    starts = _group_starts(ranked)
    fronts: list[_Rows] = []
    sorted_ranks = np.empty(len(points), dtype=int)
    for i, start in enumerate(starts.tolist()):
        if start != i:
            sorted_ranks[i] = sorted_ranks[start]
            continue
        point = ranked[i]
        low, high = 0, min(len(fronts), 1 if first_front_only else len(fronts))
        while low < high:
            middle = (low + high) // 2
            if _dominated_by_any(fronts[middle].view(), point):
                low = middle + 1
            else:
                high = middle
        if low == len(fronts):
            fronts.append(_Rows(points.shape[1]))
        if not (first_front_only and low > 0):
            fronts[low].append(point)
        sorted_ranks[i] = low
    ranks = np.empty(len(points), dtype=int)
    ranks[order] = sorted_ranks
    return ranks


def pareto_mask(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Boolean ``(n,)``: True for the rows no other row dominates (the first front)."""
    points = _to_minimization(values, directions)
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    if points.shape[1] == 2:
        return _pareto_mask_2d(points)
    return _ranks_nd(points, first_front_only=True) == 0


def _ranks_2d(points: np.ndarray) -> np.ndarray:
    """Front index per point by one scan in lexicographic order (Jensen, IEEE TEC 2003).

    Each front keeps the second objective of its last member; because points arrive sorted by
    the first objective, a front's last member is its best in the second, so the point joins
    the first front whose last value is strictly greater (``bisect_right``). Fronts' last values
    stay sorted, which makes each step a binary search. Identical points copy their twin's rank.
    """
    order = _lexsort_2d(points)
    ranked = points[order]
    starts = _group_starts(ranked)
    fronts_last: list[float] = []
    sorted_ranks = np.empty(len(points), dtype=int)
    for i, (start, second) in enumerate(zip(starts.tolist(), ranked[:, 1].tolist())):
        if start != i:
            sorted_ranks[i] = sorted_ranks[start]
            continue
        front = bisect.bisect_right(fronts_last, second)
        if front == len(fronts_last):
            fronts_last.append(second)
        else:
            fronts_last[front] = second
        sorted_ranks[i] = front
    ranks = np.empty(len(points), dtype=int)
    ranks[order] = sorted_ranks
    return ranks


def nondominated_ranks(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Int ``(n,)``: the non-dominated front of each row, 0 for the Pareto front.

    Front ``k`` is the Pareto front of what remains after removing fronts ``0..k-1`` (NSGA-II's
    non-dominated sorting). O(n log n) for two objectives; ENS-BS (:func:`_ranks_nd`) otherwise.
    """
    points = _to_minimization(values, directions)
    if points.shape[1] == 2:
        return _ranks_2d(points)
    return _ranks_nd(points)


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """Float ``(n,)``: NSGA-II crowding distance of the rows of one front.

    Per objective, rows are sorted and each interior row adds the gap between its neighbours
    divided by that objective's range; the two boundary rows get ``inf``. Directions do not
    matter (the distance is symmetric). An objective with zero range adds nothing.
    """
    points = np.asarray(values, dtype=float)
    if points.ndim != 2:
        raise ValueError(f"values: expected a 2-D array (n, m), got shape {points.shape}")
    n = len(points)
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for column in points.T:
        order = np.argsort(column, kind="stable")
        ranked = column[order]
        span = ranked[-1] - ranked[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (ranked[2:] - ranked[:-2]) / span
    return distance


def hypervolume_2d(
    values: np.ndarray, directions: Sequence[str], reference: Sequence[float]
) -> float:
    """Area dominated by ``values`` and bounded by the ``reference`` point (two objectives).

    Zitzler & Thiele, "Multiobjective optimization using evolutionary algorithms - a
    comparative case study", PPSN 1998. ``reference`` is in the same units and senses as
    ``values`` (e.g. ``(0.0, max_macs)`` for accuracy max / MACs min); rows that do not strictly
    beat it in both objectives add nothing. Computed as a sum of rectangles over the front.
    """
    if len(reference) != 2:
        raise ValueError(f"reference: expected 2 coordinates, got {len(reference)}")
    points = _to_minimization(values, directions)
    if points.shape[1] != 2:
        raise ValueError(f"hypervolume_2d: needs 2 objectives, got {points.shape[1]}")
    ref = _to_minimization(np.asarray([reference], dtype=float), directions)[0]
    points = points[np.all(points < ref, axis=1)]
    if len(points) == 0:
        return 0.0
    front = np.unique(points[_pareto_mask_2d(points)], axis=0)  # sorted: x up, y down
    right_edges = np.append(front[1:, 0], ref[0])
    return float(np.sum((right_edges - front[:, 0]) * (ref[1] - front[:, 1])))


def knee_index(values: np.ndarray, directions: Sequence[str]) -> int:
    """Row index of the knee of the Pareto front of ``values`` (two objectives).

    Both objectives are min-max normalised over the front (after turning maximisation into
    minimisation), which puts the front's two extremes at ``(0, 1)`` and ``(1, 0)``. The knee is
    the front point farthest from the line through those extremes on the side of the ideal
    point ``(0, 0)``, i.e. the largest ``1 - x - y`` (Das, "On characterizing the 'knee' of the
    Pareto curve based on normal-boundary intersection", Struct. Optim. 1999). Ties, and fronts
    of fewer than three points, go to the front point best in the first objective (then the
    lowest row index).
    """
    points = _to_minimization(values, directions)
    if points.shape[1] != 2:
        raise ValueError(f"knee_index: needs 2 objectives, got {points.shape[1]}")
    if len(points) == 0:
        raise ValueError("knee_index: no points; the study has no COMPLETE trials")
    rows = np.flatnonzero(_pareto_mask_2d(points))
    front = points[rows]
    low, high = front.min(axis=0), front.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    normalised = (front - low) / span
    bulge = np.round(1.0 - normalised.sum(axis=1), 12)
    # Best bulge first, then best first objective, then lowest row index.
    best = np.lexsort((rows, front[:, 0], -bulge))[0]
    return int(rows[best])
