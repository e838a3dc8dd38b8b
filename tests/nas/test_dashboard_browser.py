"""optuna-dashboard, served by ``nas dashboard``, rendered by a real headless Chromium.

Chromium is Debian's (``.ci/services/chromium.sh`` installs it and exports ``NAS_CHROMIUM``);
without it these tests skip and say why. No Playwright, no downloads: ``--dump-dom`` prints
the DOM after ``--virtual-time-budget`` of page time, when the React app and its Plotly plots
have rendered.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.nas.dashboard import STUDY, serving, write_study

pytestmark = [pytest.mark.slow, pytest.mark.browser]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def chromium() -> str:
    found = os.environ.get("NAS_CHROMIUM") or shutil.which("chromium")
    if not found or not Path(found).exists():
        pytest.skip("no chromium: run `source .ci/services/chromium.sh` (Debian's chromium)")
    return found


def dump_dom(browser: str, url: str, profile: Path) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Subtree(HTMLParser):
    """Text and classes inside the element with ``id=target`` of a serialised DOM."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target, self.depth = target, 0
        self.text: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.depth == 0 and found.get("id") != self.target:
            return
        self.classes.extend((found.get("class") or "").split())
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def test_study_page_shows_objectives_and_pareto_front(tmp_path: Path) -> None:
    browser = chromium()
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study_id = write_study(url)
    attach(url, tmp_path / "trial-0_model.py")
    with serving(url, tmp_path) as base:
        dom = dump_dom(browser, f"{base}/dashboard/studies/{study_id}", tmp_path / "profile")
    assert STUDY in dom
    # The Pareto-front card: a heading, one objective selector per axis, then the plot.
    card = dom[dom.index(">Pareto Front<") : dom.index('id="graph-pareto-front"')]
    selected = re.findall(r"Objective ([XY]):</legend>.*?>([^<>]+)</div>", card, re.DOTALL)
    assert sorted(name for _, name in selected) == ["macs", "val_accuracy"], selected
    plot = Subtree("graph-pareto-front")
    plot.feed(dom)
    assert "js-plotly-plot" in plot.classes, "the Pareto-front plot did not render"
    assert plot.classes.count("point") >= 3, "the front's points are not drawn"
    ticks = " ".join(plot.text).split()
    assert "30M" in ticks and "0.9" in ticks, ticks  # the study's MACs and accuracies
    assert "trial-0_model.py" in dom, "study artifacts (nas export --attach) are not listed"


def attach(url: str, file: Path) -> None:
    """A study artifact, as ``nas export --attach`` uploads it."""
    import optuna
    from optuna.artifacts import upload_artifact

    from storage import artifact_store

    file.write_text("x = 1\n")
    study = optuna.load_study(study_name=STUDY, storage=url)
    upload_artifact(artifact_store=artifact_store(url), file_path=str(file), study_or_trial=study)
