"""``nas space`` and ``nas cost`` through the real CLI entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from nas.cli import main
from searchspace.catalog import block_info, block_names


def test_space_json_lists_every_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "--json"]) == 0
    space = json.loads(capsys.readouterr().out)
    assert list(space) == list(block_names())
    assert space["se"] == {
        "params": {"ratio": [4, 8, 16, 32]},
        "positions": list(block_info("se").positions),
    }
    assert space["se"]["positions"][0] == "branch"


def test_space_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space"]) == 0
    out = capsys.readouterr().out
    assert "ratio={4, 8, 16, 32}" in out


def test_cost_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "r50.json"
    spec.write_text(json.dumps({"backbone": "resnet50"}))
    assert main(["cost", str(spec), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"macs": 4_089_184_256, "params": 25_557_032}


def test_cost_reads_the_spec_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"backbone": "resnet50"})))
    assert main(["cost", "-", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["macs"] == 4_089_184_256


def test_cost_bad_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(
        json.dumps(
            {"backbone": "resnet20", "stages": [{"block": "se", "position": "replace"}, {}, {}]}
        )
    )
    assert main(["cost", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "stages[0].position: 'replace' is not legal for se" in err


def test_cost_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "/nonexistent/spec.json"]) == 2
    assert "does not exist" in capsys.readouterr().err
