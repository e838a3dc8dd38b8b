"""Bad input through the real CLI: one line on stderr, a non-zero status, nothing created.

One row per case: the command (``{tmp}`` is the test's scratch folder, files made by
:func:`scratch`), the exit status, and a pattern the single stderr line must match. Every case
runs in this process through ``nas.cli.main`` and needs no training: what it checks happens
before a trial would start. A new option adds its rows here. Cases on an existing study (resume
refusals, the stored config) are in ``test_bad_input_storage.py``.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
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

CASES = [
    # specs: what the file is, and what is in it
    case(
        2,
        r"^nas cost: error: spec file '.*/missing\.json' does not exist$",
        "cost",
        "{tmp}/missing.json",
    ),
    case(
        2,
        r"spec file '.*folder\.json' is a folder; name a file in it$",
        "cost",
        "{tmp}/folder.json",
    ),
    case(
        2,
        r"spec file '.*fifo\.json' is not a regular file \(a pipe or device\)",
        "cost",
        "{tmp}/fifo.json",
    ),
    case(2, r"spec file '/dev/null' is not a regular file", "cost", "/dev/null"),
    case(
        2,
        r"spec file '.*binary\.json' is not UTF-8 text \(byte \d+\); is it a binary",
        "cost",
        "{tmp}/binary.json",
    ),
    case(
        2,
        r"^nas cost: error: spec '.*deep\.json': nested too deeply to be a spec$",
        "cost",
        "{tmp}/deep.json",
    ),
    case(
        2,
        r"spec '.*digits\.json': an integer has more than 4,300 digits; no setting",
        "cost",
        "{tmp}/digits.json",
    ),
    case(2, r"^nas train: error: spec .*nested too deeply", "train", "{tmp}/deep.json"),
    *(
        case(2, rf"^nas {command}: error: {pattern}", command, f"{{tmp}}/{name}.json")
        for command in ("cost", "train")
        for name, pattern in (
            ("none_params", r'stages\[2\]\.params: block "none" takes no parameters; omit'),
            ("no_block", r"stages\[2\]\.params: given without a block, so the stage is 'none'"),
            ("stage_end_first", r"stages\[2\]\.blocks: 'first' contradicts position 'stage_end'"),
        )
    ),
    # configs: the same, and settings refused before storage or Ray
    case(
        2, r"^nas search: error: config file '.*folder' is a folder", "search", "{tmp}/folder", DB
    ),
    case(2, r"config file '.*binary\.toml' is not UTF-8 text", "search", "{tmp}/binary.toml", DB),
    case(
        2, r"digits\.toml: an integer has more than 4,300 digits", "search", "{tmp}/digits.toml", DB
    ),
    case(2, r"deep\.toml: nested too deeply to be a config$", "search", "{tmp}/deep.toml", DB),
    case(2, r"config file '.*fifo\.json' is not a regular file", "search", "{tmp}/fifo.json", DB),
    case(
        2,
        r"search\.study: '\.\./x' looks like a path; a study name has no /",
        "search",
        "{tmp}/badstudy.toml",
        DB,
    ),
    case(2, r"search\.study: the study name is blank", "search", "--study", "  ", DB),
    case(2, r"search\.study: 'a\\nb' has unprintable characters", "search", "--study", "a\nb", DB),
    case(2, r"search\.study: 'a/b' looks like a path", "search", "--study", "a/b", DB),
    case(
        2,
        r"space: se can go in no searched stage \(stage 0: se\.ratio: \[3000\] fit none of "
        r"the channel widths \[\d+",
        "search",
        "{tmp}/se3000.toml",
        DB,
    ),
    case(
        2,
        r"space: nonlocal can go in no searched stage \(stage 0: nonlocal is for late stages only",
        "search",
        "{tmp}/nothing.toml",
        DB,
    ),
    case(
        2,
        r"resources\.gpus_per_trial = 1, but the cluster has no GPUs: no trial could start",
        "search",
        "{tmp}/gpu.toml",
        DB,
        marks=(NO_CUDA,),
    ),
    case(2, r"noise\.seeds: expected an integer >= 2, got 1$", "search", "{tmp}/oneseed.toml", DB),
    case(2, r"noise\.specs: expected an integer >= 0, got -1$", "search", "{tmp}/nospecs.toml", DB),
    case(
        2,
        r"noise\.replicas: unknown key; allowed: specs, seeds$",
        "search",
        "{tmp}/noisekey.toml",
        DB,
    ),
    case(
        2,
        r"resources\.cpus_per_trial = 1000, but the cluster has \d+ CPUs: no trial could "
        r"start; lower it",
        "search",
        "{tmp}/cpus.toml",
        DB,
    ),
    case(
        2,
        r"proxy\.device: 'cuda' but no CUDA device is visible here; use 'auto' or 'cpu'",
        "search",
        "{tmp}/cuda.toml",
        DB,
        marks=(NO_CUDA,),
    ),
    case(
        2,
        r"data: cannot read fashion_mnist in .*notgzip \(BadGzipFile: Not a gzipped file",
        "search",
        "{tmp}/notgzip.toml",
        DB,
    ),
    case(
        2,
        r"data: cannot read fashion_mnist in .*truncated \(EOFError: Compressed file ended",
        "search",
        "{tmp}/truncated.toml",
        DB,
    ),
    case(
        2,
        r"^(?!.*--data-dir).*IDX files not found; set \[data\] data_dir = ",
        "search",
        "{tmp}/nodata.toml",
        DB,
    ),
    case(
        2,
        r"^nas search: error: search\.storage: expected a non-empty string",
        "search",
        "--storage",
        "",
    ),
    # corrupt data and flags of nas train (every check happens before the first epoch)
    case(
        2,
        r"^nas train: error: data: cannot read fashion_mnist in .*notgzip \(BadGzipFile",
        "train",
        "{tmp}/spec.json",
        "--data-dir",
        "{tmp}/notgzip",
        "--no-download",
    ),
    case(
        2,
        r"^nas train: error: data: cannot read fashion_mnist in .*truncated \(EOFError",
        "train",
        "{tmp}/spec.json",
        "--data-dir",
        "{tmp}/truncated",
        "--no-download",
    ),
    case(
        2,
        r"^nas train: error: --input-size 100000 at width 0\.5: the proxy would cost [\d,]+ G "
        r"MACs per image, over the 10 G a proxy may; use --input-size \d+ or less",
        "train",
        "{tmp}/spec.json",
        "--input-size",
        "100000",
    ),
    case(
        2,
        r"^nas train: error: --epochs: expected an integer >= 1, got 0$",
        "train",
        "{tmp}/spec.json",
        "--epochs",
        "0",
    ),
    case(
        2,
        r"^nas train: error: --train-samples: expected an integer >= 1 or 0 \(all\), got -5$",
        "train",
        "{tmp}/spec.json",
        "--train-samples",
        "-5",
    ),
    case(
        2,
        r"^nas train: error: --width: expected a number in \(0, 8\] or 0 \(the spec's\)",
        "train",
        "{tmp}/spec.json",
        "--width",
        "-1",
    ),
    case(
        2,
        r"^nas train: error: --save '.*a_file' is a file; name a folder",
        "train",
        "{tmp}/spec.json",
        "--save",
        "{tmp}/a_file",
    ),
    case(
        2,
        r"^nas train: error: --save '.*a_file/out': '.*a_file' is a file, not a folder",
        "train",
        "{tmp}/spec.json",
        "--save",
        "{tmp}/a_file/out",
    ),
    case(
        2,
        r"^nas train: error: proxy\.epochs: expected an integer >= 1",
        "train",
        "{tmp}/spec.json",
        "--config",
        "{tmp}/bad_proxy.toml",
    ),
    # output paths and storage of the readers
    case(
        2,
        r"^nas export: error: --output '.*folder' is a folder; name a file in it$",
        "export",
        "--spec",
        "{tmp}/spec.json",
        "-o",
        "{tmp}/folder",
    ),
    case(
        2,
        r"^nas export: error: --output '.*a_file/model\.py': '.*a_file' is a file, not a folder$",
        "export",
        "--spec",
        "{tmp}/spec.json",
        "-o",
        "{tmp}/a_file/model.py",
    ),
    case(
        2,
        r"^nas pareto: error: --plot '.*a_file/x\.png': '.*a_file' is a file, not a folder$",
        "pareto",
        DB,
        "--plot",
        "{tmp}/a_file/x.png",
    ),
    case(
        2,
        r"^nas pareto: error: storage .*new/nas\.db does not exist; run `nas search` first",
        "pareto",
        DB,
    ),
    case(2, r"^nas studies: error: storage .*new/nas\.db does not exist", "studies", DB),
    case(2, r"^nas dashboard: error: storage .*new/nas\.db does not exist", "dashboard", DB),
    case(
        2,
        r"^nas export: error: storage .*new/nas\.db does not exist",
        "export",
        "--knee",
        "-o",
        "{tmp}/m.py",
        DB,
    ),
    case(2, r"^nas confirm: error: storage .*new/nas\.db does not exist", "confirm", DB),
    case(
        2,
        r"^nas pareto: error: --storage is empty; omit it for the default",
        "pareto",
        "--storage",
        "",
    ),
    case(2, r"^nas studies: error: --storage is empty", "studies", "--storage", ""),
    case(2, r"^nas dashboard: error: --storage is empty", "dashboard", "--storage", ""),
    case(
        2,
        r"^nas export: error: --storage is empty",
        "export",
        "--knee",
        "-o",
        "{tmp}/m.py",
        "--storage",
        "",
    ),
    case(2, r"^nas confirm: error: --storage is empty", "confirm", "--storage", ""),
]


@pytest.mark.parametrize("row", CASES)
def test_bad_input_is_one_line(
    row: Case,
    scratch: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
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


@pytest.mark.parametrize(
    ("argv", "text", "what"),
    [
        (["cost", "/dev/stdin"], '{"backbone": "resnet20"}', "spec file"),
        (
            ["search", "/dev/stdin", "--storage", "sqlite:///{tmp}/s.db"],
            "[search]\n",
            "config file",
        ),
    ],
)
def test_dev_stdin_as_a_file_is_one_line(
    argv: list[str], text: str, what: str, tmp_path: Path
) -> None:
    """``/dev/stdin`` fed by a pipe (``echo ... | nas cost /dev/stdin``) is named as a pipe,
    with the way to read standard input where the command has one, and nothing is created."""
    command = [sys.executable, "-m", "nas", *(a.replace("{tmp}", str(tmp_path)) for a in argv)]
    done = subprocess.run(command, input=text, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"{what} '/dev/stdin' is not a regular file (a pipe or device)" in lines[0]
    assert not any(tmp_path.iterdir())
