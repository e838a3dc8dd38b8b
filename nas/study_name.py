"""What a study name may be: it names a folder too (Ray Tune's run folder), so it is checked."""

from __future__ import annotations

from typing import Any

MAX_LENGTH = 128


def check_study_name(field: str, value: Any) -> str:
    """``value`` if it is a usable study name; ``ValueError`` naming ``field`` and why not.

    Usable: a string, not blank, printable (no control characters or newlines), at most
    :data:`MAX_LENGTH` characters, without path separators and not ``.`` or ``..``.
    """
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a study name (a string), got {value!r}")
    if not value.strip():
        raise ValueError(f"{field}: the study name is blank; name it, e.g. --study my-search")
    if not value.isprintable():
        raise ValueError(f"{field}: {value!r} has unprintable characters; use letters, digits, -_.")
    if "/" in value or "\\" in value or value in (".", ".."):
        raise ValueError(f"{field}: {value!r} looks like a path; a study name has no / or \\")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"{field}: {len(value)} characters; a study name has at most {MAX_LENGTH}")
    return value
