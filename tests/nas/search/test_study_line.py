"""``nas search: study 'S' in <storage>`` is printed once the storage is opened: a config the
checks before storage refuse prints no such line (and leaves no file), a search that opens its
study prints it first."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.cli import main
from tests.idx import fashion_mnist_dir
from tests.nas.kept_study import MIXED, STUDY, make_study, write_config


def test_a_refused_search_does_not_say_it_opened_a_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = tmp_path / "truncated"  # data the check before storage cannot read
    truncated.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        raw = (Path(fashion_mnist_dir()) / name).read_bytes()
        (truncated / name).write_bytes(raw[: len(raw) // 2])
    database = tmp_path / "new.db"
    extra = f'[data]\ndata_dir = "{truncated}"\ndownload = false'
    config = write_config(tmp_path / "c.toml", f"sqlite:///{database}", extra=extra)
    assert main(["search", str(config), "--no-confirm"]) == 2
    out, err = capsys.readouterr()
    assert "cannot read fashion_mnist" in err
    assert "SQLite file" not in out + err and f"study {STUDY!r} in" not in out + err
    assert not database.exists()


def test_a_search_that_opens_its_study_says_where_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = make_study(tmp_path, MIXED)  # its budget (3) is reached: no Ray
    assert main(["search", str(config), "--no-confirm"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"nas search: study {STUDY!r} in SQLite file {tmp_path / 'nas.db'}"
    assert "study already has 3 finished trials (budget 3)" in lines[1]
