"""The confirmation's progress: what it will cost before it starts, one live line while it runs.

    confirm: 3 front members x 2 seeds on 8,000 training images x 3 epochs: 6 runs, 2 at a
             time, about 5m08s (from their search runs' times)
    confirm: 2/6 runs done (1/3 members confirmed, 0 failed) | 2 running | 2m51s, ETA 2m17s

A confirmation run trains what the member's search trial trained, on ``scale`` x its images, so
that trial's wall time (``wall_time_s``) times the ratio of training images predicts the run's:
within 10 % on the default search, where the members' runs took 26 s to 170 s. The runs are
placed on the free slots in the order they were submitted, as Ray starts them, which gives the
whole confirmation's duration before the first run ends, when an ETA from finished runs would
have nothing to go on. Once runs finish, the prediction is scaled by how fast they actually went.
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from nas.live import LiveLine, duration
from nas.wording import counted


def run_estimate(attrs: Mapping[str, Any], budget: Mapping[str, Any]) -> float | None:
    """Seconds one run at ``budget`` should take: the trial's own ``wall_time_s`` (its user
    attributes ``attrs``) times the ratio of training images (images per epoch x epochs) of
    ``budget`` to the trial's ``proxy``. ``None`` when the trial recorded neither."""
    wall, proxy = attrs.get("wall_time_s"), attrs.get("proxy")
    if not isinstance(wall, int | float) or not isinstance(proxy, Mapping):
        return None
    ratio = _epochs(budget) / _epochs(proxy)
    samples, was = budget.get("train_samples"), proxy.get("train_samples")
    if isinstance(samples, int) and isinstance(was, int) and was > 0:
        ratio *= samples / was
    return float(wall) * ratio


def _epochs(budget: Mapping[str, Any]) -> float:
    epochs = budget.get("epochs")
    return float(epochs) if isinstance(epochs, int | float) and epochs > 0 else 1.0


def finish_times(durations: Sequence[float], slots: int) -> list[float]:
    """When each run ends if ``slots`` run at once and each starts, in order, on the first slot
    to come free (list scheduling, as Ray starts queued tasks)."""
    assert slots >= 1, slots
    free = [0.0] * slots
    ends = []
    for seconds in durations:
        start = heapq.heappop(free)
        ends.append(start + seconds)
        heapq.heappush(free, start + seconds)
    return ends


class ConfirmProgress:
    """The live line of one confirmation (:class:`~nas.live.LiveLine`).

    Args:
        estimates: each run's predicted seconds in submission order (``None``: unknown, taken
            as the mean of the known ones).
        slots: how many runs the cluster holds at once.
        members: how many members the runs confirm.
        stream: where the lines go; ``None`` prints nothing.
    """

    def __init__(
        self,
        estimates: Sequence[float | None],
        *,
        slots: int,
        members: int,
        stream: TextIO | None = None,
    ) -> None:
        known = [e for e in estimates if e is not None]
        self.predicted: list[float] | None = None
        if known:
            fill = statistics.fmean(known)
            self.predicted = finish_times([fill if e is None else e for e in estimates], slots)
        self.runs, self.slots, self.members = len(estimates), slots, members
        self.shown = LiveLine(stream)
        self.silent = stream is None
        self.start = time.monotonic()
        self.done: dict[int, float] = {}  # run index -> seconds after the start it ended
        self.confirmed = self.failed = 0

    def opening(self, budget: Mapping[str, Any], seeds: int) -> str:
        """The line printed before any run starts: what is trained, and about how long."""
        images = budget.get("train_samples")
        data = "the whole training split" if images is None else f"{images:,} training images"
        about = ""
        if self.predicted is not None:
            about = f", about {duration(max(self.predicted))} (from their search runs' times)"
        return (
            f"confirm: {counted(self.members, 'front member')} x {counted(seeds, 'seed')} on "
            f"{data} x {budget.get('epochs')} epochs: {counted(self.runs, 'run')}, "
            f"{min(self.slots, self.runs)} at a time{about}"
        )

    def run_ended(self, index: int) -> None:
        """Count run ``index`` (submission order) as ended now; :meth:`draw` shows it."""
        self.done[index] = time.monotonic() - self.start

    def member_ended(self, confirmed: bool) -> None:
        """Count a member whose runs have all ended, ``confirmed`` or failed."""
        if confirmed:
            self.confirmed += 1
        else:
            self.failed += 1

    def eta(self) -> str:
        """Seconds left as ``3m10s``: the predicted end scaled by the pace of the runs that
        ended (elapsed per finished run times the runs left when nothing was predicted)."""
        elapsed = time.monotonic() - self.start
        left = self.runs - len(self.done)
        if not left:
            return "0s"
        if self.predicted is None:
            if not self.done:
                return "?"
            return duration(elapsed / len(self.done) * left)
        pace = 1.0
        if self.done:
            pace = sum(self.done.values()) / sum(self.predicted[i] for i in self.done)
        remaining = max(self.predicted) * pace - elapsed
        return duration(remaining) if remaining >= 1 else "?"

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        running = min(self.slots, self.runs - len(self.done))
        return (
            f"confirm: {len(self.done)}/{self.runs} runs done ({self.confirmed}/{self.members} "
            f"members confirmed, {self.failed} failed) | {running} running | "
            f"{duration(elapsed)}, ETA {self.eta()}"
        )

    def draw(self) -> None:
        if not self.silent:
            self.shown.draw(self.line())

    def tick(self) -> None:
        """Redraw on a terminal about once a second; off one only new counts print."""
        if not self.silent and self.shown.live and time.monotonic() - self.shown.last_draw >= 1:
            self.draw()

    def note(self, text: str) -> None:
        """``text`` on a line of its own, above the live line."""
        if not self.silent:
            self.shown.note(text)

    def close(self) -> None:
        self.shown.close()
