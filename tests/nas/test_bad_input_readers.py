"""Bad input to the readers through the real CLI (``nas pareto``, ``studies``, ``dashboard``,
``export``, ``confirm``): output paths that cannot be written, a storage that does not exist (a
reader never creates one) or is named empty. Rows as in :mod:`tests.nas.bad_input`.
"""

from __future__ import annotations

from tests.nas import bad_input
from tests.nas.bad_input import DB, case

scratch = bad_input.scratch  # the files the rows name, made once for the module

CASES = [
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


test_bad_input_is_one_line = bad_input.one_line_test(CASES)
