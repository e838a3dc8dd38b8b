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
