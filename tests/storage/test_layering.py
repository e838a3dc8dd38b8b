"""``storage`` sits below the rest: it imports none of this project's other packages.

Checked in a fresh interpreter, so modules other tests imported cannot hide an import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import importlib, pkgutil, sys
import storage
for module in pkgutil.iter_modules(storage.__path__):
    importlib.import_module(f"storage.{module.name}")
ours = sorted({m.split(".")[0] for m in sys.modules} & {"nas", "searchspace", "workers"})
print(" ".join(ours))
"""


def test_storage_imports_no_other_package_of_ours() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [], f"storage imports {run.stdout.strip()}"
