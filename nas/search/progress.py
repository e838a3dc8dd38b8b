"""One live progress line for ``nas search``, in place of Ray Tune's trial table.

    search: 7/12 done (5 complete, 1 pruned, 1 failed, 2 reused) | 2 running | front 4
            | 3m12s, ETA 2m40s

On a terminal the line is redrawn in place; otherwise a new line is printed whenever a count
changes (logs and CI stay readable: :mod:`nas.live`). The ETA is the elapsed time per trial
finished in this session times the trials left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np
from ray.tune import Callback

from nas.live import LiveLine, duration
from nas.results.pareto import pareto_mask
from nas.search.ledger import Tally


class ProgressLine(Callback):
    """A Tune callback that prints the search's progress on one line (:class:`LiveLine`).

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
        self.shown = LiveLine(stream)
        self.start = time.monotonic()
        self.finished_at_start = tally.finished

    @property
    def stream(self) -> TextIO:
        return self.shown.stream

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks with the experiment state; the stream stays behind."""
        return {**self.__dict__, "shown": LiveLine()}

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.draw()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self.shown.live and time.monotonic() - self.shown.last_draw > 1.0:
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
            eta = duration(elapsed / done_now * left)
        elif not left:
            eta = "0s"
        return (
            f"search: {t.finished}/{self.target} done ({t.complete} complete, {t.pruned} pruned, "
            f"{t.failed} failed, {t.reused} reused) | {t.running} running | front {front} | "
            f"{duration(elapsed)}, ETA {eta}"
        )

    def draw(self) -> None:
        self.shown.draw(self.line())

    def note(self, text: str) -> None:
        """Print ``nas search: <text>`` on a line of its own, above the live line."""
        self.shown.note(f"nas search: {text}")

    def close(self) -> None:
        """End the live line (call once the search returns)."""
        self.shown.close()
