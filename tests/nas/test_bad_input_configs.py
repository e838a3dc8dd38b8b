"""Bad ``nas search`` configs through the real CLI: the file itself (a folder, binary, nested too
deeply, a huge integer, a pipe), and settings refused before storage or Ray: the study name,
a space with nothing to search, resources the cluster lacks, ``[noise]``, unreadable data, an
empty storage. Rows as in :mod:`tests.nas.bad_input`.
"""

from __future__ import annotations

from tests.nas import bad_input
from tests.nas.bad_input import DB, NO_CUDA, case

scratch = bad_input.scratch  # the files the rows name, made once for the module

CASES = [
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
]


test_bad_input_is_one_line = bad_input.one_line_test(CASES)
