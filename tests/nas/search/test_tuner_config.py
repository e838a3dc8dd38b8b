"""What the config sets on the Ray Tune ``Tuner`` of a search (``nas.search.tuner.build_tuner``).

No Ray cluster: a ``Tuner`` saves its state (``tuner.pkl``, what Tune resumes an experiment
from) when it is made, and that saved state is what is checked here.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from nas.config import SearchConfig
from nas.search.tuner import build_tuner
from tests.nas.search.searcher_setup import TINY, searcher_of


def _saved_tuner(tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    search = {**sections.pop("search", {}), "study": "tuned"}
    config = SearchConfig.from_dict({**TINY, **sections, "search": search})
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    _, searcher = searcher_of(config, url)
    workdir = tmp_path / "ray"
    build_tuner(config, searcher.handle, searcher, [], str(workdir))
    with (workdir / "tuned" / "tuner.pkl").open("rb") as saved:
        state: dict[str, Any] = pickle.load(saved)
    return state


@pytest.mark.parametrize("reuse", [True, False])
def test_reuse_actors_reaches_the_tuner(tmp_path: Path, reuse: bool) -> None:
    state = _saved_tuner(tmp_path, resources={"reuse_actors": reuse})
    assert state["_tune_config"].reuse_actors is reuse


def test_concurrency_and_retries_reach_the_tuner(tmp_path: Path) -> None:
    state = _saved_tuner(tmp_path, search={"concurrency": 3}, resources={"max_retries": 5})
    assert state["_tune_config"].max_concurrent_trials == 3
    assert state["_run_config"].failure_config.max_failures == 5
