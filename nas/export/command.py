"""The command line an exported file records: relative, reproducible, and free of secrets.

``sys.argv`` is the wrong record: it holds the exporting machine's absolute paths and, with
``--storage postgresql://user:PASSWORD@host/db``, the database password, and ``--attach``
copies the file into the study's artifacts for anyone with the dashboard. The command is
rebuilt from the parsed arguments instead: paths relative to the working directory, the storage
as :func:`storage.storage_argument` shows it (``"$NAS_STORAGE"`` or the URL with its password
read from ``$NAS_STORAGE_PASSWORD``), so running it again from the same folder exports the
same architecture.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path


def relative(path: str | Path, start: Path | None = None) -> str:
    """``path`` relative to ``start`` (the working directory), ``-`` (stdin) as given."""
    if str(path) == "-":
        return "-"
    resolved = Path(path).expanduser().resolve()
    return os.path.relpath(resolved, (start or Path.cwd()).resolve())


def storage_word(given: str | None, start: Path | None = None) -> str | None:
    """The shell word for ``--storage``: ``None`` when the default was used (``$NAS_STORAGE``
    or ``nas-results/nas.db``), a relative file for SQLite, else the secret-free URL."""
    from storage import resolve_url, storage_argument
    from storage.urls import SQLITE_SUFFIXES, sqlite_path

    if given is None:
        return None
    url = resolve_url(given)
    path = sqlite_path(url)
    if path is None:
        return storage_argument(url)
    shown = relative(path, start)
    word = shown if shown.lower().endswith(SQLITE_SUFFIXES) else f"sqlite:///{shown}"
    return shlex.quote(word)


def recorded_command(args: argparse.Namespace, start: Path | None = None) -> str:
    """``nas export ...`` as it would be typed again in ``start`` to make the same file."""
    words: list[str] = ["nas", "export"]
    if args.spec is not None:
        words += ["--spec", relative(args.spec, start)]
    else:
        words += ["--study", args.study]
        if args.trial is not None:
            words += ["--trial", str(int(args.trial))]
        elif args.knee:
            words.append("--knee")
        elif args.best:
            words.append("--best")
        elif args.max_macs is not None:
            words += ["--max-macs", format(float(args.max_macs), "g")]
        elif args.min_accuracy is not None:
            words += ["--min-accuracy", format(float(args.min_accuracy), "g")]
        if args.artifacts is not None:
            words += ["--artifacts", relative(args.artifacts, start)]
    for flag, value in (("--num-classes", args.num_classes), ("--in-channels", args.in_channels)):
        if value is not None:
            words += [flag, str(int(value))]
    words += [flag for flag, on in (("--weights", args.weights), ("--attach", args.attach)) if on]
    onnx = getattr(args, "onnx", None)
    if onnx is not None:
        words += ["--onnx", relative(onnx, start)]
    words += ["-o", relative(args.output, start)]
    quoted = [shlex.quote(word) for word in words]
    storage = storage_word(getattr(args, "storage", None), start)
    if storage is not None and args.spec is None:
        quoted[2:2] = ["--storage", storage]
    return " ".join(quoted)
