"""A study as ``nas search`` makes it, with finished trials added and no Ray: the bad-input
tests refuse commands on it and the study-line test resumes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState, create_trial

from nas.config import SearchConfig
from nas.search.study import prepare_study
from nas.space import SearchSpace
from searchspace.spec import ArchSpec
from storage import open_storage
from tests.idx import fashion_mnist_dir
from workers.data import dataset_shape

STUDY = "kept"
BASE = """
[search]
study = "{study}"
storage = "{storage}"
trials = 3
[data]
data_dir = "{data}"
download = false
[proxy]
epochs = 1
train_samples = 200
val_samples = 100
width = 0.25
batch_size = 50
augment = false
"""


def write_config(path: Path, url: str, name: str = STUDY, extra: str = "") -> Path:
    base = BASE.format(study=name, storage=url, data=fashion_mnist_dir())
    path.write_text(_merged(base, extra))
    return path


def _merged(base: str, extra: str) -> str:
    """``base`` with the keys of ``extra`` (``[section]`` then ``key = value`` lines) set."""
    lines, section = base.splitlines(), None
    for line in extra.strip().splitlines():
        if line.startswith("["):
            section = line
            if section not in lines:
                lines.append(section)
            continue
        key = line.split("=")[0].strip()
        start = lines.index(section) + 1 if section else 0
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        kept = [i for i in range(start, end) if lines[i].split("=")[0].strip() == key]
        if kept:
            lines[kept[0]] = line
        else:
            lines.insert(end, line)
    return "\n".join(lines) + "\n"


def prepared(config: SearchConfig, url: str) -> optuna.Study:
    """``config``'s study at ``url``, prepared as ``nas search`` prepares it (its config and
    space stored, the reference designs queued), with no Ray."""
    channels, size, classes = dataset_shape(config.data)
    space = SearchSpace(
        config.space,
        in_channels=channels,
        input_size=size,
        num_classes=classes,
        proxy_width=config.proxy.width,
    )
    study, _ = prepare_study(config, open_storage(url), space, epochs=config.proxy.epochs)
    return study


def make_study(tmp: Path, trials: list[tuple[TrialState, str | None]]) -> tuple[Path, str]:
    """A study as ``nas search`` creates it, with ``(state, fail_reason)`` trials finished."""
    url = f"sqlite:///{tmp / 'nas.db'}"
    study = prepared(SearchConfig.from_toml(write_config(tmp / "base.toml", url)), url)
    spec = ArchSpec.from_dict({"backbone": "resnet20", "in_channels": 1, "input_size": 28})
    for i, (state, reason) in enumerate(trials):
        attrs: dict[str, Any] = {"spec": spec.to_dict(), "spec_id": f"id-{i}"}
        if reason:
            attrs["fail_reason"] = reason
        complete = state == TrialState.COMPLETE
        study.add_trial(
            create_trial(
                state=state,
                values=[0.5 + i / 100, 40e6 + i] if complete else None,
                user_attrs=attrs,
                intermediate_values={1: 0.4},
            )
        )
    return tmp / "base.toml", url


MIXED = [(TrialState.COMPLETE, None), (TrialState.COMPLETE, None), (TrialState.FAIL, "diverged")]
