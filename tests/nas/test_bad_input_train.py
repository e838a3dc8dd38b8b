"""Bad ``nas train`` input through the real CLI: corrupt data and flags out of range, every one
refused before the first epoch. Rows as in :mod:`tests.nas.bad_input`.
"""

from __future__ import annotations

from tests.nas import bad_input
from tests.nas.bad_input import case

scratch = bad_input.scratch  # the files the rows name, made once for the module

CASES = [
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
]


test_bad_input_is_one_line = bad_input.one_line_test(CASES)
