"""Bad spec files through the real CLI (``nas cost``, ``nas train``): what the file is (missing, a
folder, a pipe, binary, nested too deeply, a huge integer) and what is in it (stage fields a
plain stage would ignore, a selector its position contradicts). Rows as in
:mod:`tests.nas.bad_input`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.nas import bad_input
from tests.nas.bad_input import case

scratch = bad_input.scratch  # the files the rows name, made once for the module

CASES = [
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
]


test_bad_input_is_one_line = bad_input.one_line_test(CASES)


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
