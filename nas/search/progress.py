"""One live progress line for ``nas search``, in place of Ray Tune's trial table.

    search: 7/12 done (5 complete, 1 pruned, 1 failed, 2 reused) | 2 running | front 4
            | 3m12s, ETA 2m40s

On a terminal the line is redrawn in place; otherwise a new line is printed whenever a count
changes (logs and CI stay readable). The ETA is the elapsed time per trial finished in this
session times the trials left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np
from ray.tune import Callback

from nas.results.pareto import pareto_mask
from nas.search.ledger import Tally


class ProgressLine(Callback):
    """A Tune callback that prints the search's progress on one line.

    Args:
        tally: the counts of the searcher's ledger (shared, not copied), which it shows.
        target: the trial budget.
        directions: objective directions, for the front size.
    """

    def __init__(
        self,
        tally: Tally,
        *,
        target: int,
        directions: Sequence[str],
        stream: TextIO | None = None,
    ) -> None:
        self.tally, self.target, self.directions = tally, target, list(directions)
        self._stream = stream
        self.start = time.monotonic()
        self.finished_at_start = tally.finished
        self._last = ""
        self._last_draw = 0.0

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks with the experiment state; the stream stays behind."""
        return {**self.__dict__, "_stream": None}

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self.stream.isatty() and time.monotonic() - self._last_draw > 1.0:
            self.draw()

    def line(self) -> str:
        t = self.tally
        elapsed = time.monotonic() - self.start
        front = 0
        if t.values:
            front = int(pareto_mask(np.asarray(t.values, dtype=float), self.directions).sum())
        done_now = t.finished - self.finished_at_start
        left = max(0, self.target - t.finished)
        eta = "?"
        if done_now and left:
            eta = _duration(elapsed / done_now * left)
        elif not left:
            eta = "0s"
        return (
            f"search: {t.finished}/{self.target} done ({t.complete} complete, {t.pruned} pruned, "
            f"{t.failed} failed, {t.reused} reused) | {t.running} running | front {front} | "
            f"{_duration(elapsed)}, ETA {eta}"
        )

    def draw(self) -> None:
        text = self.line()
        self._last_draw = time.monotonic()
        if self.stream.isatty():
            self.stream.write("\r\033[K" + text)
        elif _counts(text) != _counts(self._last):
            self.stream.write(text + "\n")
        self._last = text
        self.stream.flush()

    def note(self, text: str) -> None:
        """Print ``nas search: <text>`` on a line of its own, above the live line."""
        if self.stream.isatty():
            self.stream.write("\r\033[K")
        self.stream.write(f"nas search: {text}\n")
        if self.stream.isatty() and self._last:
            self.stream.write(self._last)
        self.stream.flush()

    def close(self) -> None:
        """End the live line (call once the search returns)."""
        if self.stream.isatty() and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _counts(text: str) -> str:
    return text.split(" | ")[0] + text.split(" | ")[1] if " | " in text else text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
