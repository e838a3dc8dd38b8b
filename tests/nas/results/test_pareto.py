"""Pareto utilities on hand-made fronts, checked against a brute-force dominance definition."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nas.results.pareto import (
    crowding_distance,
    hypervolume_2d,
    knee_index,
    nondominated_ranks,
    pareto_mask,
)

ACC_MACS = ("maximize", "minimize")

# (accuracy, MACs): rows 0, 1, 3, 5 are the front; 2 is dominated by 1, 4 by 3, 6 duplicates 5.
POINTS = np.array(
    [
        [0.70, 10.0],
        [0.80, 20.0],
        [0.75, 25.0],
        [0.90, 40.0],
        [0.85, 45.0],
        [0.95, 80.0],
        [0.95, 80.0],
    ]
)


def brute_force_mask(points: np.ndarray, directions: tuple[str, ...]) -> np.ndarray:
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    p = points * signs
    n = len(p)
    return np.array(
        [
            not any(np.all(p[j] <= p[i]) and np.any(p[j] < p[i]) for j in range(n) if j != i)
            for i in range(n)
        ]
    )


def brute_force_ranks(points: np.ndarray, directions: tuple[str, ...]) -> np.ndarray:
    ranks = np.full(len(points), -1)
    remaining = np.arange(len(points))
    front = 0
    while len(remaining):
        on = brute_force_mask(points[remaining], directions)
        ranks[remaining[on]] = front
        remaining = remaining[~on]
        front += 1
    return ranks


def test_pareto_mask_hand_made_front() -> None:
    mask = pareto_mask(POINTS, ACC_MACS)
    assert mask.tolist() == [True, True, False, True, False, True, True]


def test_pareto_mask_respects_directions() -> None:
    flipped = pareto_mask(POINTS, ("minimize", "maximize"))
    # Low accuracy and many MACs are now good: the front changes.
    assert flipped.tolist() == [True, False, True, False, True, True, True]
    assert not np.array_equal(flipped, pareto_mask(POINTS, ACC_MACS))


def test_pareto_mask_ties_in_one_objective() -> None:
    points = np.array([[0.9, 10.0], [0.9, 20.0], [0.8, 10.0], [0.9, 10.0]])
    assert pareto_mask(points, ACC_MACS).tolist() == [True, False, False, True]


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_mask_and_ranks_match_brute_force(seed: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 6, size=(60, m)).astype(float)  # many ties and duplicates
    directions = ("maximize", "minimize", "minimize", "maximize")[:m]
    assert pareto_mask(points, directions).tolist() == brute_force_mask(points, directions).tolist()
    ranks = nondominated_ranks(points, directions)
    assert ranks.tolist() == brute_force_ranks(points, directions).tolist()


def test_ranks_hand_made() -> None:
    assert nondominated_ranks(POINTS, ACC_MACS).tolist() == [0, 0, 1, 0, 1, 0, 0]


def test_empty_inputs() -> None:
    empty = np.zeros((0, 2))
    assert pareto_mask(empty, ACC_MACS).shape == (0,)
    assert nondominated_ranks(empty, ACC_MACS).shape == (0,)
    assert hypervolume_2d(empty, ACC_MACS, (0.0, 100.0)) == 0.0
    with pytest.raises(ValueError, match="no points"):
        knee_index(empty, ACC_MACS)


@pytest.mark.parametrize(
    ("values", "directions", "match"),
    [
        (np.zeros((3, 2)), ("maximize",), "1 given for 2 objectives"),
        (np.zeros((3, 2)), ("maximize", "smallest"), "allowed: maximize, minimize"),
        (np.zeros(3), ACC_MACS, "2-D array"),
        (np.array([[np.nan, 1.0]]), ACC_MACS, "NaN"),
    ],
)
def test_bad_inputs_raise_one_line(
    values: np.ndarray, directions: tuple[str, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        pareto_mask(values, directions)


def test_crowding_distance() -> None:
    front = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0]])
    distance = crowding_distance(front)
    assert np.isinf(distance[0]) and np.isinf(distance[3])
    # row 1: (3 - 0) / 4 + (4 - 1) / 4 = 1.5; row 2 likewise.
    assert distance[1:3] == pytest.approx([1.5, 1.5])
    assert np.isinf(crowding_distance(front[:2])).all()


def test_crowding_distance_constant_objective_adds_nothing() -> None:
    front = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    assert crowding_distance(front)[1] == pytest.approx(1.0)


def test_hypervolume_2d_rectangles() -> None:
    # Minimisation front (1, 3), (2, 2), (3, 1) against reference (4, 4): 3 + 2 + 1 = 6.
    front = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]])
    assert hypervolume_2d(front, ("minimize", "minimize"), (4.0, 4.0)) == pytest.approx(6.0)
    # Same thing as accuracy max: accuracy = -x.
    as_accuracy = front * np.array([-1.0, 1.0])
    assert hypervolume_2d(as_accuracy, ACC_MACS, (-4.0, 4.0)) == pytest.approx(6.0)


def test_hypervolume_ignores_points_beyond_reference() -> None:
    points = np.array([[0.9, 50.0], [0.95, 200.0]])
    # Only the first beats (0.5, 100): (0.9 - 0.5) * (100 - 50) = 20.
    assert hypervolume_2d(points, ACC_MACS, (0.5, 100.0)) == pytest.approx(20.0)
    assert hypervolume_2d(points, ACC_MACS, (0.99, 100.0)) == 0.0


def test_knee_is_the_bulge() -> None:
    # Minimisation front with a clear elbow at (1, 1); the dominated row 4 is ignored.
    points = np.array([[0.0, 10.0], [1.0, 1.0], [10.0, 0.0], [5.0, 5.0], [0.5, 9.0]])
    assert knee_index(points, ("minimize", "minimize")) == 1


def test_knee_with_accuracy_and_macs() -> None:
    # Accuracy saturates after 40 M MACs: the knee is the 40 M design (row 3).
    assert knee_index(POINTS, ACC_MACS) == 3


def test_knee_of_two_points_is_best_first_objective() -> None:
    points = np.array([[0.8, 10.0], [0.9, 20.0]])
    assert knee_index(points, ACC_MACS) == 1


def test_ten_thousand_points_are_fast() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(0.5, 1.0, 10_000), rng.uniform(1e6, 1e9, 10_000)])
    start = time.perf_counter()
    mask = pareto_mask(points, ACC_MACS)
    ranks = nondominated_ranks(points, ACC_MACS)
    knee = knee_index(points, ACC_MACS)
    elapsed = time.perf_counter() - start
    print(f"10,000 points: mask + ranks + knee in {elapsed * 1e3:.1f} ms")
    assert np.array_equal(mask, ranks == 0)
    assert mask[knee]
    assert 0 < mask.sum() < 100


def test_ten_thousand_points_three_objectives() -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0.0, 1.0, size=(10_000, 3))
    directions = ("maximize", "minimize", "minimize")
    start = time.perf_counter()
    mask = pareto_mask(points, directions)
    elapsed = time.perf_counter() - start
    print(f"10,000 points, 3 objectives: mask in {elapsed * 1e3:.0f} ms")
    # Exact check in O(n * front): the front is mutually non-dominated and dominates the rest.
    minimised = points * np.array([-1.0, 1.0, 1.0])
    front, rest = minimised[mask], minimised[~mask]
    dominates = np.all(front[:, None, :] <= rest[None, :, :], axis=2) & np.any(
        front[:, None, :] < rest[None, :, :], axis=2
    )
    assert dominates.any(axis=0).all()
    assert brute_force_mask(points[mask], directions).all()
    assert 0 < mask.sum() < 1000
