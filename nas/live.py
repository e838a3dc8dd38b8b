"""One live status line on a stream, as ``nas search`` and its confirmation print their progress.

On a terminal the line is redrawn in place and a note goes above it; on a pipe or a file (logs,
CI, ``nohup``) a new line is printed only when the line's counts change, so a log gets one line
per event, not one per second.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class LiveLine:
    """A status line that ``draw`` shows and ``note`` writes above.

    Args:
        stream: where it is shown (``sys.stdout`` when ``None``, looked up at each write).
            Off a terminal a line is printed when its :func:`counts` differ from the last one's.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._last = ""
        self.last_draw = 0.0

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def live(self) -> bool:
        """Whether the stream is a terminal, where the line is redrawn in place."""
        return self.stream.isatty()

    def draw(self, text: str) -> None:
        self.last_draw = time.monotonic()
        if self.live:
            self.stream.write("\r\033[K" + text)
        elif counts(text) != counts(self._last):
            self.stream.write(text + "\n")
        self._last = text
        self.stream.flush()

    def note(self, text: str) -> None:
        """``text`` on a line of its own, above the live line."""
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        if self.live and self._last:
            self.stream.write(self._last)
        self.stream.flush()

    def close(self) -> None:
        """End the live line (once nothing more is drawn)."""
        if self.live and self._last:
            self.stream.write("\n")
            self.stream.flush()
        self._last = ""


def counts(text: str) -> str:
    """``text`` without its last `` | `` field (the clock): what makes a line new in a log."""
    return text.rsplit(" | ", 1)[0]


def duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``1h05m``: how the progress lines write a time."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
