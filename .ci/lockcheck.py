"""Check a virtual environment against the lock: ``python .ci/lockcheck.py LOCK [--strict]``.

Every installed distribution the lock names must be at the locked version (a left-over package
from an earlier install is how CI once passed on versions a fresh install no longer gets). With
``--strict`` (the test environment) every installed distribution must be in the lock, so the
suite runs on exactly the set it was locked on. Exit 1 with one line per difference.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

UNLOCKED = {"pip", "setuptools", "wheel", "attention-nas"}
"""The installer itself and this project (editable), which no lock pins."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise SystemExit(f"lockcheck: {path}: {line!r} is not NAME==VERSION")
            pins[canonical(name)] = version.strip()
    return pins


def main(argv: list[str]) -> int:
    lock = Path(argv[0])
    strict = "--strict" in argv[1:]
    pins = read_lock(lock)
    problems = []
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        if name in UNLOCKED:
            continue
        if name not in pins:
            if strict:
                problems.append(f"{name}=={dist.version} is installed but not in {lock}")
        elif dist.version != pins[name]:
            problems.append(f"{name}=={dist.version} is installed; {lock} locks {pins[name]}")
    for problem in sorted(problems):
        print(f"lockcheck: {problem}", file=sys.stderr)
    if problems:
        print(
            "lockcheck: run bash .ci/setup --fresh (or refresh the lock: bash .ci/newest --lock)",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
