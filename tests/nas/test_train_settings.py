"""``nas train`` trains the proxy ``nas search`` trains: the same defaults, or a config file's.

No training here: the flags are parsed by the real parser and resolved by the function
``nas train`` uses, then compared with what ``nas search`` would hand its trials.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from nas.cli import build_parser
from nas.commands.train import settings_from_args
from nas.config import SearchConfig
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.optimizers import OPTIMIZERS


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", "spec.json", *argv])


def test_defaults_are_the_search_defaults() -> None:
    data, budget = settings_from_args(_args())
    search = SearchConfig()
    assert (data, budget) == (search.data, search.proxy)
    assert (data, budget) == (DataConfig(), ProxyBudget())


def test_config_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "search.toml"
    path.write_text(
        "[data]\nval_fraction = 0.2\nsplit_seed = 3\n"
        '[proxy]\nepochs = 5\ntrain_samples = 300\nwidth = 0.25\noptimizer = "adamw"\n'
    )
    config = SearchConfig.from_toml(path)
    assert settings_from_args(_args("--config", str(path))) == (config.data, config.proxy)
    data, budget = settings_from_args(
        _args("--config", str(path), "--epochs", "2", "--train-samples", "0", "--no-download")
    )
    assert budget.epochs == 2 and budget.train_samples is None, "0 is the whole split"
    assert (budget.width, budget.optimizer, budget.lr) == (0.25, "adamw", config.proxy.lr)
    assert (data.val_fraction, data.split_seed, data.download) == (0.2, 3, False)


def test_another_optimizer_brings_its_own_lr() -> None:
    _, budget = settings_from_args(_args("--optimizer", "adamw"))
    adamw = OPTIMIZERS["adamw"]
    assert (budget.lr, budget.weight_decay) == (adamw.lr, adamw.weight_decay)
    _, budget = settings_from_args(_args("--optimizer", "adamw", "--lr", "0.01"))
    assert budget.lr == 0.01


@pytest.mark.parametrize(
    "field", ["epochs", "train_samples", "val_samples", "width", "batch_size", "seed", "device"]
)
def test_help_shows_the_budget_default(field: str) -> None:
    default = {f.name: f.default for f in fields(ProxyBudget)}[field]
    parser = build_parser()
    train = next(
        a.choices["train"] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    flag = "--" + field.replace("_", "-")
    (action,) = [a for a in train._actions if flag in a.option_strings]
    assert f"default {default}" in (action.help or ""), action.help
