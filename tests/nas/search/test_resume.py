"""The resume folder of a trial: where an interrupted trial's newest whole epoch waits for its
requeued copy, and how long it lives (removed once the trial ends any other way).
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch

from tests.nas.search.drivers import final_result, new_driver
from workers.state import TrainState, load_resumable, save_resumable
from workers.trainable import RESUME_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def test_the_resume_folder_lives_until_its_trial_ends(url: str) -> None:
    driver = new_driver(url, trials=4)
    done, stopped = driver.suggest("a"), driver.suggest("b")
    assert isinstance(done, dict) and isinstance(stopped, dict)
    folders = [Path(done[RESUME_KEY]), Path(stopped[RESUME_KEY])]
    assert folders[0].parent == Path(url[len("sqlite:///") :]).with_suffix(".artifacts") / (
        "resume/drivers"
    )
    for folder in folders:
        (folder / "epoch-1").mkdir(parents=True)
    driver.on_trial_complete("a", final_result(0.5))
    assert not folders[0].exists(), "a finished trial's epochs are removed"
    assert driver.interrupt_all() == 1
    assert folders[1].is_dir(), "an interrupted one keeps them for its requeued copy"


def _state(epoch: int) -> TrainState:
    return TrainState(
        epoch=epoch,
        model={"w": torch.full((2,), float(epoch))},
        optimizer={},
        schedule={},
        generator=torch.Generator().get_state(),
        history=[{"epoch": float(e)} for e in range(1, epoch + 1)],
    )


def test_resumable_state_keeps_the_newest_whole_epoch(tmp_path: Path) -> None:
    root = tmp_path / "resume" / "spec"
    assert load_resumable(root) is None
    save_resumable(_state(1), root)
    save_resumable(_state(2), root)
    assert sorted(p.name for p in root.iterdir()) == ["epoch-2"], "older epochs removed"
    (root / ".partial-1-3").mkdir()  # a process killed while saving epoch 3
    (root / "epoch-4").mkdir()  # or a folder damaged some other way
    loaded = load_resumable(root)
    assert loaded is not None and loaded.epoch == 2 and float(loaded.model["w"][0]) == 2.0
