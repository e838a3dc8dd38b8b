"""``nas.search.progress.ProgressLine``: the one-line progress report (no Ray run needed)."""

from __future__ import annotations

import io
import pickle

from nas.search.ledger import Tally
from nas.search.progress import ProgressLine


def test_line_counts_front_and_eta() -> None:
    tally = Tally()
    tally.complete, tally.values = 1, [[0.5, 100.0]]
    stream = io.StringIO()
    line = ProgressLine(tally, target=4, directions=["maximize", "minimize"], stream=stream)
    assert "1/4 done (1 complete, 0 pruned, 0 failed, 0 reused)" in line.line()
    assert "ETA ?" in line.line(), "nothing finished in this session yet"
    tally.complete, tally.failed, tally.running = 2, 1, 1
    tally.values.append([0.4, 50.0])  # cheaper and less accurate: also on the front
    tally.values.append([0.3, 80.0])  # dominated by the previous one
    text = line.line()
    assert "3/4 done (2 complete, 0 pruned, 1 failed, 0 reused) | 1 running | front 2" in text
    assert "ETA ?" not in text


def test_prints_a_new_line_only_when_counts_change() -> None:
    tally = Tally()
    stream = io.StringIO()
    line = ProgressLine(tally, target=2, directions=["maximize", "minimize"], stream=stream)
    line.draw()
    line.draw()
    tally.failed = 1
    line.draw()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("search: 1/2 done")


def test_pickles_without_its_stream() -> None:
    stream = io.StringIO()
    line = ProgressLine(Tally(), target=1, directions=["maximize", "minimize"], stream=stream)
    copy = pickle.loads(pickle.dumps(line))
    assert copy.target == 1 and copy.stream is not stream


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_note_is_its_own_line_above_the_live_one() -> None:
    piped, terminal = io.StringIO(), _Terminal()
    for stream in (piped, terminal):
        line = ProgressLine(Tally(), target=2, directions=["maximize", "minimize"], stream=stream)
        line.draw()
        line.note("gpus_per_trial auto: 0.5")
    assert piped.getvalue().splitlines()[1] == "nas search: gpus_per_trial auto: 0.5"
    shown = terminal.getvalue().split("\r\033[K")[-1]
    assert shown.startswith("nas search: gpus_per_trial auto: 0.5\nsearch: 0/2 done")
