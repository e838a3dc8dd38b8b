"""``nas search`` (its closing front), ``nas pareto`` and ``nas export --knee`` read one front.

One study as ``nas search`` creates it (stored config, space, reference designs queued), with
COMPLETE trials added: a dominated one, a tie, a reused result, an extra objective that makes a
trial non-dominated. ``nas search`` on it with its budget already reached starts no Ray and
prints the front; the three commands must name the same members, in the same order, and the
same knee, first by proxy accuracy, then once confirmed accuracies re-rank the front.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from optuna.trial import create_trial

from nas.cli import main
from nas.config import SearchConfig
from searchspace.spec import ArchSpec
from tests.idx import fashion_mnist_dir
from tests.nas.kept_study import prepared

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")

STUDY = "agree"
FULL = {"backbone": "resnet20", "in_channels": 1, "num_classes": 10, "input_size": 28}
SE = {"block": "se", "params": {"ratio": 8}}
# (third-stage choice, accuracy, MACs, params, reused_from index or None)
TRIALS = [
    ({}, 0.70, 40.0e6, 1000, None),
    ({"block": "eca"}, 0.78, 40.2e6, 900, None),
    (SE, 0.80, 41.0e6, 1100, None),
    ({"block": "gc", "position": "stage_end"}, 0.84, 44.0e6, 1300, None),
    ({"block": "cbam"}, 0.79, 45.0e6, 1400, None),  # dominated by trial "gc"
    ({"block": "nonlocal", "position": "stage_end"}, 0.86, 60.0e6, 1500, None),
    (SE, 0.80, 41.0e6, 1100, 2),  # reuses the SE trial's result: listed once
]
CONFIG = """
[search]
study = "{study}"
storage = "{storage}"
trials = {trials}
[data]
data_dir = "{data}"
download = false
"""


def _spec(third: dict[str, object]) -> dict[str, object]:
    return ArchSpec.from_dict({**FULL, "stages": [{}, {}, third]}).to_dict()


@pytest.fixture()
def study(tmp_path: Path) -> tuple[Path, str, list[int]]:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    path = tmp_path / "search.toml"
    text = CONFIG.format(study=STUDY, storage=url, trials=len(TRIALS), data=fashion_mnist_dir())
    path.write_text(text)
    created = prepared(SearchConfig.from_toml(path), url)
    numbers = []
    for third, accuracy, macs, params, reused in TRIALS:
        spec = ArchSpec.from_dict(_spec(third))
        attrs = {"spec": spec.to_dict(), "spec_id": spec.canonical_id, "params": params}
        if reused is not None:
            attrs["reused_from"] = numbers[reused]
        created.add_trial(create_trial(values=[accuracy, macs], user_attrs=attrs))
        numbers.append(created.trials[-1].number)
    return path, url, numbers


def _pareto(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[list[int], int]:
    assert main(["pareto", "--storage", url, "--study", STUDY, "--json"]) == 0
    front = json.loads(capsys.readouterr().out)["front"]
    return [e["trial"] for e in front], next(e["trial"] for e in front if e["knee"])


def _export_knee(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    out = tmp_path / "knee.py"
    assert main(["export", "--storage", url, "--study", STUDY, "--knee", "-o", str(out)]) == 0
    capsys.readouterr()
    found = re.search(r"^\s*trial: (\d+)$", out.read_text(), re.MULTILINE)
    assert found, out.read_text()[:800]
    return int(found.group(1))


def _search_front(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[int], int]:
    assert main(["search", str(config), "--no-confirm"]) == 0
    out = capsys.readouterr().out
    assert "finished trials" in out and "Pareto front:" in out, out
    table = out.split("Pareto front:", 1)[1].split("\nstorage:", 1)[0].splitlines()[2:]
    cells = [line.split()[0] for line in table if line.strip()]
    return [int(c.rstrip("*")) for c in cells], next(int(c[:-1]) for c in cells if c[-1] == "*")


def test_pareto_export_and_search_agree(
    study: tuple[Path, str, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url, numbers = study
    members, knee = _pareto(url, capsys)
    expected = [numbers[i] for i in (0, 1, 2, 3, 5)]  # cheapest first; no cbam, no reuse
    assert members == expected
    assert knee == numbers[3]  # the gc trial: 0.84 at 44 M, the far bulge of the front
    assert _export_knee(url, tmp_path, capsys) == knee
    assert _search_front(config, capsys) == (members, knee)

    # Confirmed accuracies (nas confirm's study attributes) re-rank every reader alike.
    loaded = optuna.load_study(study_name=STUDY, storage=url)
    for index, accuracy in ((0, 0.70), (1, 0.85), (3, 0.86), (5, 0.87)):
        loaded.set_user_attr(f"confirmed:{numbers[index]}", {"val_accuracy": accuracy})
    members, knee = _pareto(url, capsys)
    assert members == expected and knee == numbers[1]
    assert _export_knee(url, tmp_path, capsys) == knee
    assert _search_front(config, capsys) == (members, knee)
