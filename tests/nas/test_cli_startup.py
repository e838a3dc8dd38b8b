"""Commands that train nothing start without torch, and without Ray unless they talk to Ray.

``nas --help``, every sub-command's ``--help``, ``nas space``, ``nas pareto``, ``nas studies``
and the dashboard's start-up are run all day; torch's import alone is about a second of them
(docs/performance.md, "CLI start-up"). The help and ``nas space``, which read no study, start
without Optuna and SQLAlchemy too (about 0.25 s more). Each case runs the real ``nas.cli.main``
in a fresh interpreter, as ``tests/storage/test_layering.py`` does, so that nothing this test
session imported hides an import, then reports which of torch, Ray, Optuna and SQLAlchemy ended
up in ``sys.modules``.
Commands share an interpreter (one start-up each, not one per command): a command that
imports torch fails the case whichever one it is, and the report names the first.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState, create_trial

import nas.commands

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

REPO = Path(__file__).resolve().parents[2]
PROBE = r"""
import contextlib, io, json, sys

from nas.cli import main

results = []
for argv in json.loads(sys.argv[1]):
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
    loaded = [name for name in ("torch", "ray", "optuna", "sqlalchemy") if name in sys.modules]
    results.append({"argv": argv, "status": status, "output": output.getvalue(), "loaded": loaded})
print(json.dumps(results))
"""


def _probe(commands: list[list[str]]) -> list[dict[str, Any]]:
    """Run ``commands`` in order in one fresh interpreter; what each returned and left loaded."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results: list[dict[str, Any]] = json.loads(run.stdout.splitlines()[-1])
    assert [r["argv"] for r in results] == commands
    return results


def _first_with(results: list[dict[str, Any]], module: str) -> list[str] | None:
    return next((r["argv"] for r in results if module in r["loaded"]), None)


def _command_names() -> list[str]:
    """Every sub-command, found as ``nas.cli`` finds them, so a new one is checked too."""
    modules = [
        importlib.import_module(f"nas.commands.{m.name}")
        for m in pkgutil.iter_modules(nas.commands.__path__)
        if not m.name.startswith("_")
    ]
    return sorted(module.NAME for module in modules)


@pytest.fixture
def study_url(tmp_path: Path) -> str:
    """A SQLite study in the docs/study-format.md shape with one COMPLETE trial."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(
        storage=url, study_name="attention-nas", directions=["maximize", "minimize"]
    )
    study.set_metric_names(["val_accuracy", "macs"])
    spec = {"backbone": "resnet20", "stages": [{}, {}, {}]}
    attrs = {"spec": spec, "macs": 40_000_000, "params": 270_000}
    study.add_trial(create_trial(state=TrialState.COMPLETE, values=[0.8, 4e7], user_attrs=attrs))
    return url


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something listens on: ``nas dashboard`` refuses it after its start-up imports."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def closed_address() -> Iterator[str]:
    """An address that refuses connections at once (bound, not listening): no job server."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


def test_help_and_readers_import_neither_torch_nor_ray(study_url: str, busy_port: int) -> None:
    names = _command_names()
    assert {"search", "train", "pareto", "dashboard", "jobs"} <= set(names)
    helps = [["--help"], *([name, "--help"] for name in names)]
    readers = [
        ["space"],
        ["space", "--json"],
        ["pareto", "--storage", study_url],
        ["pareto", "--json", "--storage", study_url],
        ["studies", "--storage", study_url],
        ["dashboard", "--storage", study_url, "--port", str(busy_port)],
    ]
    results = _probe(helps + readers)
    assert _first_with(results, "torch") is None, "this command imported torch"
    assert _first_with(results, "ray") is None, "this command imported ray"
    for module in ("optuna", "sqlalchemy"):  # the first command to need them reads a study
        assert _first_with(results, module) == readers[2], f"this command imported {module}"
    assert [r["status"] for r in results[: len(helps)]] == [0] * len(helps)
    space, space_json, pareto, pareto_json, studies, dashboard = results[len(helps) :]
    assert [space["status"], space_json["status"], studies["status"]] == [0, 0, 0]
    assert pareto["status"] == 0 and "1 trial on the front" in pareto["output"]
    assert json.loads(pareto_json["output"])["front"][0]["macs"] == 40_000_000
    assert dashboard["status"] == 2 and f"port {busy_port}" in dashboard["output"]


def test_job_commands_import_ray_but_not_torch(closed_address: str, tmp_path: Path) -> None:
    config = str(REPO / "docs" / "search.example.toml")
    storage = f"sqlite:///{tmp_path / 'nas.db'}"
    commands = [
        ["jobs", "--address", closed_address],
        ["logs", "--address", closed_address, "raysubmit_x"],
        ["stop", "--address", closed_address, "raysubmit_x"],
        ["submit", config, "--storage", storage, "--address", closed_address],
    ]
    results = _probe(commands)
    assert _first_with(results, "torch") is None, "this command imported torch"
    for result in results:
        assert result["status"] == 2 and "no Ray job server" in result["output"], result
    assert "ray" in results[0]["loaded"]


def test_the_probe_sees_torch_where_a_command_needs_it(tmp_path: Path) -> None:
    """``nas cost`` runs the network on the meta device (searchspace/cost.py): torch, always."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"backbone": "resnet20"}))
    (result,) = _probe([["cost", str(spec), "--json"]])
    assert result["status"] == 0 and "torch" in result["loaded"]
