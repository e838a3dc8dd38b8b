"""A copy of results in a folder this user may not write: the readers read it, writers refuse.

The tests run as root here, and root writes into a ``chmod 555`` folder all the same
(``CAP_DAC_OVERRIDE``). So the commands run in a subprocess without that capability
(``setpriv --bounding-set=-dac_override,-dac_read_search``), and each test first checks that such
a process really cannot create a file in the folder: without the read-only opening in
``storage/sqlite.py`` every reader here exits 2 with "directory ... is not writable".
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.idx import fashion_mnist_dir
from tests.nas.dashboard import POINTS, STUDY, get, serving, write_study
from tests.nas.searches import search_toml

DENY = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def _denied_prefix(folder: Path) -> list[str]:
    """The command prefix under which this user may not write ``folder`` (skip if none)."""
    prefix = [] if os.geteuid() != 0 else DENY
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing: permissions cannot be denied")
    probe = [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"]
    if subprocess.run([*prefix, *probe], capture_output=True).returncode == 0:
        pytest.skip(f"this process can write {folder} despite chmod 555")
    return prefix


def nas(prefix: list[str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-m", "nas", *argv]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder that is ``chmod 555`` for the test (made writable again after it)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)


def test_readers_list_a_copy_in_a_read_only_folder_and_writers_refuse(
    read_only: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{read_only / 'nas.db'}"
    write_study(url)
    gc.collect()  # the study's pooled connections: the last one to close checkpoints the -wal
    assert sorted(p.name for p in read_only.iterdir()) == ["nas.db"]  # closed: all in the file
    read_only.chmod(0o555)
    prefix = _denied_prefix(read_only)
    studies = nas(prefix, tmp_path, "studies", "--storage", url, "--json")
    assert studies.returncode == 0, studies.stderr
    (summary,) = json.loads(studies.stdout)["studies"]
    assert summary["name"] == STUDY and summary["n_trials"] == len(POINTS)
    pareto = nas(prefix, tmp_path, "pareto", "--storage", url, "--study", STUDY, "--json")
    assert pareto.returncode == 0, pareto.stderr
    assert {m["accuracy"] for m in json.loads(pareto.stdout)["front"]} == {0.7, 0.8, 0.9}
    out = tmp_path / "model.py"
    export = nas(
        prefix, tmp_path, "export", "--storage", url, "--study", STUDY, "--knee", "-o", str(out)
    )
    assert export.returncode == 0 and out.is_file(), export.stderr
    assert sorted(p.name for p in read_only.iterdir()) == ["nas.db"]  # nothing written there

    refused = "is not writable (SQLite keeps its -wal and -shm files there)"
    attach = nas(
        prefix,
        tmp_path,
        "export",
        "--storage",
        url,
        "--study",
        STUDY,
        "--knee",
        "--attach",
        "-o",
        str(out),
    )
    confirm = nas(prefix, tmp_path, "confirm", "--storage", url, "--study", STUDY)
    config = tmp_path / "search.toml"
    config.write_text(
        search_toml(data=fashion_mnist_dir(), search={"study": STUDY}, proxy={"epochs": 1})
    )
    search = nas(prefix, tmp_path, "search", str(config), "--storage", url)
    for writer in (attach, confirm, search):
        assert writer.returncode == 2 and refused in writer.stderr, writer.stderr
        assert len(writer.stderr.strip().splitlines()) == 1, writer.stderr


def test_a_copy_taken_while_a_search_wrote_reads_its_wal(read_only: Path, tmp_path: Path) -> None:
    """A folder made read-only while a writer holds the file: the study is only in ``-wal``
    (read through ``mode=ro`` and the ``-shm`` there). A copy of the file and its ``-wal``
    without the ``-shm`` cannot be read in a read-only folder: one line, not a partial study."""
    path = read_only / "nas.db"
    url = f"sqlite:///{path}"
    holder = sqlite3.connect(path)  # open before the study: the -wal outlives its writers
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("PRAGMA wal_autocheckpoint=0")
        write_study(url)
        assert (read_only / "nas.db-wal").stat().st_size > 0
        partial = tmp_path / "partial"
        partial.mkdir()
        for name in ("nas.db", "nas.db-wal"):
            shutil.copyfile(read_only / name, partial / name)
        read_only.chmod(0o555)
        partial.chmod(0o555)
        prefix = _denied_prefix(read_only)
        studies = nas(prefix, tmp_path, "studies", "--storage", url, "--json")
        assert studies.returncode == 0, studies.stderr
        assert [s["name"] for s in json.loads(studies.stdout)["studies"]] == [STUDY]
        copied = nas(prefix, tmp_path, "studies", "--storage", str(partial / "nas.db"))
        assert copied.returncode == 2, copied.stderr
        assert "nas.db-wal holds commits not yet in the file" in copied.stderr, copied.stderr
        assert len(copied.stderr.strip().splitlines()) == 1, copied.stderr
        partial.chmod(0o755)
    finally:
        holder.close()


def test_the_dashboard_serves_a_copy_in_a_read_only_folder(read_only: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{read_only / 'nas.db'}"
    study_id = write_study(url)
    gc.collect()
    read_only.chmod(0o555)
    with serving(url, tmp_path, _denied_prefix(read_only)) as base:
        studies = json.loads(get(f"{base}/api/studies"))["study_summaries"]
        detail = json.loads(get(f"{base}/api/studies/{study_id}"))
    assert [s["study_name"] for s in studies] == [STUDY]
    assert len(detail["trials"]) == len(POINTS)
