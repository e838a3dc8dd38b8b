"""``nas submit``'s flags as the job receives them, and the job server address it resolves.

No head: the job's command line is read back through ``nas search``'s own parser, which is what
runs it on the cluster, and an address is shown to be used by pointing it at a free port.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from nas.cli import build_parser, main
from nas.commands.search import search_overrides
from nas.config import SearchConfig
from nas.jobs.server import DEFAULT_ADDRESS, job_server_address
from nas.jobs.submission import Submission
from tests.nas.dashboard import free_ports
from tests.nas.job_head import tiny_config


def test_concurrency_seed_and_verbose_reach_the_jobs_nas_search(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)  # [search] concurrency = 2, seed = 0
    given = ["submit", str(config), "--storage", str(tmp_path / "nas.db")]
    args = build_parser().parse_args([*given, "--concurrency", "3", "--seed", "7", "--verbose"])
    submission = Submission.prepare(
        args.config, search_overrides(args), no_confirm=args.no_confirm, verbose=args.verbose
    )
    python, module, name, *job = shlex.split(submission.entrypoint)
    assert [python, module, name] == ["python", "-m", "nas"]
    ran = build_parser().parse_args(job)
    assert (ran.command, ran.config, ran.verbose) == ("search", config.name, True)
    search = SearchConfig.from_toml(config).with_overrides(**search_overrides(ran)).search
    assert (search.concurrency, search.seed) == (3, 7)

    quiet = Submission.prepare(str(config), {}, no_confirm=False, verbose=False)
    ran = build_parser().parse_args(shlex.split(quiet.entrypoint)[3:])
    assert (ran.concurrency, ran.seed, ran.verbose) == (None, None, False), "the config's own"


def test_the_address_flag_then_rays_variables_then_the_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api, plain = (f"http://127.0.0.1:{port}" for port in free_ports(2))
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert job_server_address(None) == DEFAULT_ADDRESS
    monkeypatch.setenv("RAY_ADDRESS", plain)
    assert job_server_address(None) == plain
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", f" {api} ")
    assert job_server_address(None) == api, "Ray's order: the API server's own variable first"
    assert job_server_address("http://elsewhere:8265") == "http://elsewhere:8265"

    assert main(["jobs"]) == 2  # nothing listens there: the one-line refusal names it
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"no Ray job server at {api}" in line, line
