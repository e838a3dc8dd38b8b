"""Bad input through the real CLI: one line on stderr, a non-zero status, nothing created.

The ``test_bad_input_<what>.py`` modules hold one row per case: the command (``{tmp}`` is the
test's scratch folder, files made by :func:`scratch`), the exit status, and a pattern the single
stderr line must match; each runs its rows through :func:`check_one_line`. Every case runs in
this process through ``nas.cli.main`` and needs no training: what it checks happens before a
trial would start. A new option adds its rows to the module of its command. Cases on an existing
study (resume refusals, the stored config) are in ``test_bad_input_storage.py``.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from nas.cli import main
from tests.idx import fashion_mnist_dir

SPEC = '{"backbone": "resnet20"}'
BAD_STAGES = {
    "none_params": '{"block": "none", "params": {"ratio": 9999}, "position": "nowhere", '
    '"blocks": "bogus"}',
    "no_block": '{"params": {"ratio": 8}}',
    "stage_end_first": '{"block": "se", "position": "stage_end", "blocks": "first"}',
}
"""Spec files ``{name}.json``: resnet20 with this as its last stage (issue #15)."""
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    status: int
    pattern: str


def case(status: int, pattern: str, *argv: str, marks: tuple[pytest.MarkDecorator, ...] = ()):
    return pytest.param(Case(argv, status, pattern), id=" ".join(argv)[:70], marks=marks)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the rows name, in one folder for the module (no case may change them)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    (tmp / "spec.json").write_text(SPEC)
    for name, stage in BAD_STAGES.items():
        (tmp / f"{name}.json").write_text(
            f'{{"backbone": "resnet20", "stages": [{{}}, {{}}, {stage}]}}'
        )
    (tmp / "folder").mkdir()
    (tmp / "folder.json").mkdir()
    os.mkfifo(tmp / "fifo.json")
    (tmp / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    (tmp / "binary.toml").write_bytes(b"\xff\xfe[search]\x00")
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "digits.json").write_text('{"backbone": "resnet20", "width": ' + "9" * 5000 + "}")
    (tmp / "digits.toml").write_text("[search]\ntrials = " + "9" * 5000 + "\n")
    (tmp / "deep.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp / "a_file").write_text("not a folder\n")
    data = fashion_mnist_dir()
    for name, body in (("notgzip", None), ("truncated", 0.5)):
        folder = tmp / name
        folder.mkdir()
        for file in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
            raw = (Path(data) / file).read_bytes()
            (folder / file).write_bytes(
                b"plain text" * 20 if body is None else raw[: len(raw) // 2]
            )
    assert gzip.decompress((Path(data) / "train-labels-idx1-ubyte.gz").read_bytes())[:2] == b"\0\0"
    configs = {
        "r32": '[space]\nbackbone = "resnet32"\n',
        "se3000": "[space.params.se]\nratio = [3000]\n",
        "nothing": '[space]\nblocks = ["nonlocal"]\nstages = [0]\n',
        "gpu": "[resources]\ngpus_per_trial = 1\n",
        "cpus": "[resources]\ncpus_per_trial = 1000\n",
        "cuda": '[proxy]\ndevice = "cuda"\n',
        "notgzip": f'[data]\ndata_dir = "{tmp / "notgzip"}"\ndownload = false\n',
        "truncated": f'[data]\ndata_dir = "{tmp / "truncated"}"\ndownload = false\n',
        "nodata": f'[data]\ndata_dir = "{tmp / "folder"}"\ndownload = false\n',
        "badstudy": '[search]\nstudy = "../x"\n',
        "oneseed": "[noise]\nseeds = 1\n",
        "nospecs": "[noise]\nspecs = -1\n",
        "noisekey": "[noise]\nreplicas = 2\n",
    }
    for name, text in configs.items():
        data_section = (
            "" if "[data]" in text else f'[data]\ndata_dir = "{data}"\ndownload = false\n'
        )
        (tmp / f"{name}.toml").write_text(text + data_section)
    (tmp / "bad_proxy.toml").write_text("[proxy]\nepochs = 0\n")
    return tmp


DB = "--storage={tmp}/new/nas.db"
NOT_CREATED = "{tmp}/new"
"""No case may create this folder (readers never create storage, a failed search neither)."""


def check_one_line(
    row: Case,
    scratch: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run ``row`` in ``tmp_path``: its status, one stderr line matching its pattern, and
    nothing created (neither the storage it names nor anything in the working folder)."""
    monkeypatch.chdir(tmp_path)  # a default storage, if one were made, would land here
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    argv = [arg.replace("{tmp}", str(scratch)) for arg in row.argv]
    assert main(argv) == row.status
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert re.search(row.pattern, lines[0]), lines[0]
    assert not Path(NOT_CREATED.replace("{tmp}", str(scratch))).exists()
    assert not any(tmp_path.iterdir()), f"created {list(tmp_path.iterdir())}"


def one_line_test(cases: Sequence[Case]) -> Callable[..., None]:
    """The test a ``test_bad_input_<what>.py`` module binds to ``test_bad_input_is_one_line``:
    :func:`check_one_line` over its ``cases`` (with :func:`scratch` bound in the module)."""

    @pytest.mark.parametrize("row", cases)
    def test_bad_input_is_one_line(
        row: Case,
        scratch: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        check_one_line(row, scratch, tmp_path, capsys, monkeypatch)

    return test_bad_input_is_one_line
