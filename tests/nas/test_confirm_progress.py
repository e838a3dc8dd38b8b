"""``nas.confirm.progress``: the confirmation's cost before it starts and its live line."""

from __future__ import annotations

import io
import time

import pytest

from nas.confirm.progress import ConfirmProgress, finish_times, run_estimate
from nas.live import counts

PROXY = {"epochs": 3, "train_samples": 2000, "val_samples": 1000}


def test_a_run_is_predicted_from_its_search_trial_and_the_images_it_adds() -> None:
    attrs = {"wall_time_s": 10.0, "proxy": PROXY}
    assert run_estimate(attrs, {**PROXY, "train_samples": 8000}) == pytest.approx(40.0)
    assert run_estimate(attrs, {**PROXY, "epochs": 6, "train_samples": 8000}) == 80.0
    whole = {**PROXY, "train_samples": None}
    assert run_estimate({"wall_time_s": 10.0, "proxy": whole}, {**whole, "epochs": 12}) == 40.0
    assert run_estimate({"proxy": PROXY}, PROXY) is None, "a trial that recorded no wall time"
    assert run_estimate({"wall_time_s": 10.0}, PROXY) is None, "nor its proxy"


def test_runs_fill_the_slots_in_the_order_they_were_submitted() -> None:
    assert finish_times([170, 170, 26, 26, 112, 112], slots=2) == [170, 170, 196, 196, 308, 308]
    assert finish_times([10, 1, 1, 1], slots=2) == [10, 1, 2, 3]
    assert finish_times([5, 5], slots=4) == [5, 5]


def test_the_opening_line_says_what_is_trained_and_about_how_long() -> None:
    progress = ConfirmProgress([170, 170, 26, 26, 112, None], slots=2, members=3)
    budget = {**PROXY, "train_samples": 8000}
    assert progress.opening(budget, 2) == (
        "confirm: 3 front members x 2 seeds on 8,000 training images x 3 epochs: 6 runs, "
        "2 at a time, about 5m08s (from their search runs' times)"
    ), "the unknown run counts as the mean of the others (101 s)"
    unknown = ConfirmProgress([None], slots=2, members=1)
    whole = {**PROXY, "train_samples": None}
    assert unknown.opening(whole, 1) == (
        "confirm: 1 front member x 1 seed on the whole training split x 3 epochs: 1 run, 1 at a "
        "time"
    )


def test_the_eta_follows_the_pace_of_the_runs_that_ended() -> None:
    progress = ConfirmProgress([100, 100, 100, 100], slots=2, members=2)
    assert progress.eta() in {"3m19s", "3m20s"}, "before any run ends: the prediction"
    progress.start = time.monotonic() - 200  # the first two runs took twice as long
    progress.done = {0: 200.0, 1: 200.0}
    assert progress.eta() in {"3m19s", "3m20s"}, "twice the 200 s predicted, 200 s gone"
    progress.done.update({2: 400.0, 3: 400.0})
    assert progress.eta() == "0s"
    late = ConfirmProgress([10, 10], slots=2, members=1)
    late.start = time.monotonic() - 60
    assert late.eta() == "?", "past the prediction with no run ended: no number to give"


def test_without_estimates_the_eta_is_the_elapsed_time_per_run() -> None:
    progress = ConfirmProgress([None, None, None], slots=1, members=3)
    assert progress.eta() == "?"
    progress.start = time.monotonic() - 60
    progress.done = {0: 60.0}
    assert progress.eta() in {"1m59s", "2m00s"}


def test_the_line_counts_runs_and_members_and_prints_when_they_change() -> None:
    stream = io.StringIO()
    progress = ConfirmProgress([10, 10, 10, 10], slots=2, members=2, stream=stream)
    progress.draw()
    progress.tick()  # not a terminal: the same counts print nothing
    progress.run_ended(0)
    progress.draw()
    progress.run_ended(1)
    progress.note("trial 3: confirmed 0.80 ± 0.01 (n=2)")
    progress.member_ended(True)
    progress.draw()
    progress.close()
    shown = [counts(line) for line in stream.getvalue().splitlines()]  # without the clock
    assert shown == [
        "confirm: 0/4 runs done (0/2 members confirmed, 0 failed) | 2 running",
        "confirm: 1/4 runs done (0/2 members confirmed, 0 failed) | 2 running",
        "trial 3: confirmed 0.80 ± 0.01 (n=2)",
        "confirm: 2/4 runs done (1/2 members confirmed, 0 failed) | 2 running",
    ]


def test_without_a_stream_nothing_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ConfirmProgress([1.0], slots=1, members=1)
    progress.note("x")
    progress.run_ended(0)
    progress.member_ended(False)
    progress.close()
    assert capsys.readouterr() == ("", "")
    assert progress.failed == 1


def test_the_slots_are_what_the_cluster_holds_of_one_run() -> None:
    from nas.resources import runs_at_once

    assert runs_at_once({"cpu": 1.0, "gpu": 0.0}, {"CPU": 2.0}) == 2
    assert runs_at_once({"cpu": 1.0, "gpu": 0.25}, {"CPU": 16.0, "GPU": 1.0}) == 4, "GPU binds"
    assert runs_at_once({"cpu": 1.0, "gpu": 0.25}, {"CPU": 2.0, "GPU": 1.0}) == 2, "then CPUs"
    assert runs_at_once({"cpu": 2.0, "gpu": 0.0}, {"CPU": 1.0}) == 0, "one that cannot fit"
