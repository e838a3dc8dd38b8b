"""Small helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from searchspace.spec import ArchSpec

if TYPE_CHECKING:
    from optuna.storages import RDBStorage


def add_study_option(parser: argparse.ArgumentParser) -> None:
    """``--study``, defaulting to the default study's name, as every reader of a study takes it."""
    from nas.config import DEFAULT_STUDY

    parser.add_argument(
        "--study", default=DEFAULT_STUDY, help=f"study name (default {DEFAULT_STUDY})"
    )


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """``--storage`` of a command that opens an existing storage (:func:`open_cli_storage`)."""
    parser.add_argument("--storage", help="storage URL (default: $NAS_STORAGE or the SQLite file)")


def read_spec(path: str) -> ArchSpec:
    """Load and validate the spec JSON at ``path`` (``-`` for standard input)."""
    from nas.textfile import load_json

    data = load_json("spec", path)
    try:
        return ArchSpec.from_dict(data)
    except RecursionError:
        raise ValueError(f"spec {path!r}: nested too deeply to be a spec") from None


def open_cli_storage(
    given: str | None, *, create: bool = False, read_only: bool = False
) -> tuple[str, RDBStorage]:
    """``(url, storage)`` for a command's ``--storage`` (``None``: the default storage).

    Commands pass ``create=False``: a mistyped SQLite path is an error, not a new database.
    Commands that never write pass ``read_only``: a copy in a read-only folder still opens.
    """
    from storage import open_storage, resolve_url

    url = resolve_url(given)
    return url, open_storage(url, create=create, read_only=read_only)


def check_output(flag: str, given: str, *, directory: bool = False) -> Path:
    """``given`` as a path a command may write (a file, or with ``directory`` a folder it fills).

    Checked before any work is done, so a long run never ends in an unwritable output:
    ``ValueError`` naming ``flag`` when the path is blank, is the wrong kind of thing, sits
    under a file, or is in a folder this process cannot write.
    """
    if not given.strip():
        raise ValueError(f"{flag} is empty; name a {'folder' if directory else 'file'}")
    target = Path(given).expanduser()
    if directory and target.exists() and not target.is_dir():
        raise ValueError(f"{flag} {given!r} is a file; name a folder (it is created if needed)")
    if not directory and target.is_dir():
        raise ValueError(f"{flag} {given!r} is a folder; name a file in it")
    ancestor = target.parent if not directory or not target.exists() else target
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{flag} {given!r}: {str(ancestor)!r} is a file, not a folder")
    writable = target if target.exists() else ancestor
    if not os.access(writable, os.W_OK):
        raise ValueError(f"{flag} {given!r}: {str(writable)!r} is not writable")
    return target
