"""Small helpers shared by the sub-commands."""

from __future__ import annotations

import sys
from pathlib import Path

from searchspace.spec import ArchSpec


def read_spec(path: str) -> ArchSpec:
    """Load and validate the spec JSON at ``path`` (``-`` for standard input)."""
    if path == "-":
        text = sys.stdin.read()
    else:
        file = Path(path)
        if not file.is_file():
            raise ValueError(f"spec file {path!r} does not exist")
        text = file.read_text()
    return ArchSpec.from_json(text)
