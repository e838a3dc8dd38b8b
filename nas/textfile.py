"""Reading the files a user names (a spec, a config): one-line errors for every way it fails.

A folder, a FIFO or a device, a file that is not UTF-8 text, JSON nested thousands of levels
deep (Python's parser would raise ``RecursionError``) and integers longer than Python converts
(``int_max_str_digits``, 4,300 digits) each become one ``ValueError`` naming the file.
"""

from __future__ import annotations

import json
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any

MAX_BYTES = 16 * 1024 * 1024
"""A spec or config is a few kilobytes; anything over this is not one (and is not read whole)."""


def read_text(kind: str, path: str) -> str:
    """The UTF-8 text of ``path`` (``-`` reads standard input); ``kind`` names it in errors."""
    if path == "-":
        return sys.stdin.read()
    file = Path(path)
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"{kind} file {path!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"{kind} file {path!r}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{kind} file {path!r} is a folder; name a file in it")
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"{kind} file {path!r} is not a regular file (a pipe or device); save it to a file"
            + (", or pass - to read standard input" if kind == "spec" else "")
        )
    if file.stat().st_size > MAX_BYTES:
        raise ValueError(f"{kind} file {path!r} is over {MAX_BYTES // 2**20} MiB; not a {kind}")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ValueError(f"{kind} file {path!r}: cannot read it ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{kind} file {path!r} is not UTF-8 text (byte {exc.start}); is it a binary file?"
        ) from None


def load_json(kind: str, path: str) -> Any:
    """``path`` parsed as JSON, with the :mod:`nas.textfile` one-line errors."""
    text = read_text(kind, path)
    shown = "standard input" if path == "-" else repr(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{kind} {shown}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{kind} {shown}: nested too deeply to be a {kind}") from None
    except ValueError as exc:
        raise ValueError(f"{kind} {shown}: {_number_problem(exc)}") from None


def load_toml(kind: str, path: str) -> dict[str, Any]:
    """``path`` parsed as TOML, with the :mod:`nas.textfile` one-line errors."""
    text = read_text(kind, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply to be a {kind}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {_number_problem(exc)}") from None


def _number_problem(exc: ValueError) -> str:
    if "int_max_str_digits" in str(exc) or "Exceeds the limit" in str(exc):
        digits = sys.get_int_max_str_digits()
        return f"an integer has more than {digits:,} digits; no setting takes a number that large"
    return " ".join(str(exc).split())
