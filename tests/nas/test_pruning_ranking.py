"""The rung order of the Pareto pruner on hand-made fronts (no Optuna involved)."""

from __future__ import annotations

import numpy as np
import pytest

from nas.pruning import places_ahead, survivors

ACC_MACS = ["maximize", "minimize"]


def test_front_ends_first_then_crowding_then_dominated() -> None:
    values = np.array(
        [
            [0.90, 1000.0],  # most accurate end of the front
            [0.60, 100.0],  # cheapest end of the front
            [0.80, 500.0],  # interior, wide gaps around it
            [0.85, 900.0],  # interior, crowded next to the accurate end
            [0.70, 950.0],  # dominated by (0.80, 500) and (0.85, 900)
        ]
    )
    ahead = places_ahead(values, ACC_MACS)
    assert ahead.tolist() == [0, 0, 2, 3, 4]


def test_cheap_less_accurate_trial_survives_where_accuracy_would_drop_it() -> None:
    values = np.array([[0.91, 4e9], [0.90, 3.9e9], [0.89, 3.8e9], [0.62, 0.3e9], [0.80, 4.1e9]])
    keep = survivors(values, ACC_MACS, reduction_factor=3)
    assert keep.tolist() == [True, False, False, True, False]
    by_accuracy = np.argsort(-values[:, 0])[:2]
    assert 3 not in by_accuracy


def test_dominated_trial_is_dropped_even_when_accurate() -> None:
    values = np.array([[0.95, 1e9], [0.50, 1e8], [0.94, 2e9]])
    assert survivors(values, ACC_MACS, reduction_factor=3).tolist() == [True, True, False]


def test_ties_keep_every_member_of_the_tie_group() -> None:
    values = np.array([[0.9, 10.0], [0.9, 10.0], [0.5, 50.0], [0.4, 60.0]])
    ahead = places_ahead(values, ACC_MACS)
    assert ahead.tolist() == [0, 0, 2, 3]
    assert survivors(values, ACC_MACS, reduction_factor=4).tolist() == [True, True, False, False]


def test_second_front_ranks_behind_the_whole_first_front() -> None:
    first = [[0.9, 9.0], [0.8, 5.0], [0.7, 3.0], [0.6, 2.0]]
    second = [[0.85, 9.5], [0.55, 2.5]]
    ahead = places_ahead(np.array(first + second), ACC_MACS)
    assert ahead[:4].max() < 4
    assert ahead[4:].min() >= 4


def test_three_objectives_rank_by_fronts() -> None:
    values = np.array([[0.9, 10.0, 5.0], [0.8, 5.0, 1.0], [0.7, 11.0, 6.0]])
    ahead = places_ahead(values, ["maximize", "minimize", "minimize"])
    assert ahead.tolist() == [0, 0, 2]


def test_single_trial_and_empty_rung() -> None:
    assert survivors(np.array([[0.5, 1.0]]), ACC_MACS, reduction_factor=3).tolist() == [True]
    assert survivors(np.zeros((0, 2)), ACC_MACS, reduction_factor=3).tolist() == []


def test_nan_is_refused_by_the_frontier() -> None:
    with pytest.raises(ValueError, match="NaN"):
        places_ahead(np.array([[np.nan, 1.0], [0.5, 2.0]]), ACC_MACS)
