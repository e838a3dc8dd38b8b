"""The registries of :mod:`nas.plugins`: one contract for every entry of every kind, and one
registration is all a new sampler, pruner or objective needs to reach the config and the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from nas.cli import build_parser
from nas.commands.search import search_overrides
from nas.config import SearchConfig
from nas.objectives import DIRECTIONS, register_objective
from nas.plugins import DATASETS, OBJECTIVES, OPTIMIZERS, PRUNERS, SAMPLERS, SIGNALS
from searchspace.backbones import BACKBONES
from searchspace.blocks import BLOCKS
from searchspace.catalog import CATALOG
from searchspace.registry import Registry
from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.datasets import DatasetSource

REGISTRIES: dict[str, Registry[Any]] = {
    "sampler": SAMPLERS,
    "pruner": PRUNERS,
    "objective": OBJECTIVES,
    "signal": SIGNALS,
    "dataset": DATASETS,
    "optimizer": OPTIMIZERS,
    "catalog": CATALOG,  # blocks are built by tests/searchspace/test_block_contract.py
    "block": BLOCKS,
    "backbone": BACKBONES,
}
ENTRIES = [(kind, name) for kind, registry in REGISTRIES.items() for name in registry]
BUILT = [(kind, name) for kind, name in ENTRIES if kind not in ("catalog", "block", "backbone")]
SPEC = ArchSpec.from_dict({"backbone": "resnet20", "in_channels": 1, "input_size": 28})
CURVE = [{"val_accuracy": 0.6, "val_loss": 1.0, "train_loss": 1.2, "train_loss_tail": 1.1}]


def _sampler(name: str) -> None:
    assert isinstance(SAMPLERS.make(name, seed=0), optuna.samplers.BaseSampler)


def _pruner(name: str) -> None:
    assert isinstance(PRUNERS.make(name, max_resource=3), optuna.pruners.BasePruner)


def _objective(name: str) -> None:
    objective = OBJECTIVES[name]
    assert objective.name == name and objective.direction in DIRECTIONS
    assert math.isfinite(objective.measure(SPEC)) and objective.about


def _signal(name: str) -> None:
    assert math.isfinite(SIGNALS[name].score(CURVE)) and SIGNALS[name].metric_name


def _dataset(name: str) -> None:
    source = DATASETS[name](None, False)
    assert isinstance(source, DatasetSource) and source.name == name


def _optimizer(name: str) -> None:
    weights = torch.nn.Parameter(torch.zeros(2, 2))
    built = OPTIMIZERS[name].build([{"params": [weights], "weight_decay": 0.0}], 0.1)
    assert isinstance(built, torch.optim.Optimizer)
    budget = ProxyBudget(optimizer=name)
    assert (budget.lr, budget.weight_decay) == (OPTIMIZERS[name].lr, OPTIMIZERS[name].weight_decay)


BUILD: dict[str, Callable[[str], None]] = {
    "sampler": _sampler,
    "pruner": _pruner,
    "objective": _objective,
    "signal": _signal,
    "dataset": _dataset,
    "optimizer": _optimizer,
}


@pytest.mark.parametrize(("kind", "name"), BUILT, ids=[f"{k}-{n}" for k, n in BUILT])
def test_every_entry_builds_with_its_defaults(kind: str, name: str) -> None:
    BUILD[kind](name)


@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}-{n}" for k, n in ENTRIES])
def test_a_second_entry_of_a_name_raises(kind: str, name: str) -> None:
    registry = REGISTRIES[kind]
    entry = registry[name]
    with pytest.raises(ValueError, match=f"^{registry.kind} '{name}' is already registered$"):
        registry.add(name, entry)
    assert registry[name] is entry


@pytest.mark.parametrize("kind", REGISTRIES)
def test_an_unknown_name_raises_naming_the_registered_ones(kind: str) -> None:
    registry = REGISTRIES[kind]
    listed = ", ".join(registry.names())
    message = f"^unknown {registry.kind} 'nope'; choose one of {listed}$"
    with pytest.raises(ValueError, match=message):
        registry.get("nope")
    assert registry.default is None or registry.names()[0] == registry.default


@pytest.mark.parametrize(
    ("kind", "name"),
    [(k, n) for k, n in ENTRIES if k in ("sampler", "pruner")],
    ids=[f"{k}-{n}" for k, n in ENTRIES if k in ("sampler", "pruner")],
)
def test_an_unknown_option_raises_naming_the_accepted_ones(kind: str, name: str) -> None:
    registry = REGISTRIES[kind]
    accepted = ", ".join(registry.options(name)) or "none"
    with pytest.raises(ValueError, match=f"has no option 'nope'; accepted: {accepted}$"):
        registry.make(name, nope=1)
    with pytest.raises(ValueError, match=rf"^{kind}\.nope: unknown key for {kind} '{name}'"):
        SearchConfig.from_dict({"search": {kind: name}, kind: {"nope": 1}})


def test_a_factory_must_take_keyword_only_options_and_every_reserved_one() -> None:
    with pytest.raises(AssertionError, match="takes non-keyword-only"):
        SAMPLERS.add("positional", lambda seed: optuna.samplers.RandomSampler(seed))
    with pytest.raises(AssertionError, match=r"does not accept \['seed'\]"):
        SAMPLERS.add("seedless", lambda: optuna.samplers.RandomSampler())
    assert "positional" not in SAMPLERS and "seedless" not in SAMPLERS


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


def test_one_registration_each_reaches_the_config_and_the_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A sampler, a pruner and an objective registered here, with no other edit, are taken by
    the config, listed by ``nas search --help`` and ``nas submit --help``, and set by flags."""

    @SAMPLERS.register("plugin_sampler")
    def plugin_sampler(*, seed: int | None = None, spread: int = 2) -> Any:
        return optuna.samplers.RandomSampler(seed=seed)

    @PRUNERS.register("plugin_pruner")
    def plugin_pruner(*, max_resource: int | None = None) -> Any:
        return optuna.pruners.NopPruner()

    @register_objective("plugin_objective", direction="maximize", about="a constant")
    def plugin_objective(spec: ArchSpec) -> float:
        return 1.0

    chosen = {"search": {"sampler": "plugin_sampler", "pruner": "plugin_pruner"}}
    try:
        config = SearchConfig.from_dict(
            {**chosen, "sampler": {"spread": 3}, "objectives": {"extra": ["plugin_objective"]}}
        )
        assert config.objectives.names[-1] == "plugin_objective"
        assert config.objectives.directions[-1] == "maximize"
        for command in ("search", "submit"):
            shown = _help(command, capsys)
            assert "plugin_sampler" in shown and "plugin_pruner" in shown, command
        args = build_parser().parse_args(
            ["search", "--sampler", "plugin_sampler", "--pruner", "plugin_pruner"]
        )
        overridden = SearchConfig().with_overrides(**search_overrides(args))
        assert (overridden.search.sampler, overridden.search.pruner) == (
            "plugin_sampler",
            "plugin_pruner",
        )
    finally:
        SAMPLERS.unregister("plugin_sampler")
        PRUNERS.unregister("plugin_pruner")
        OBJECTIVES.unregister("plugin_objective")
    assert "plugin_sampler" not in _help("search", capsys)
    for section in (chosen, {"objectives": {"extra": ["plugin_objective"]}}):
        with pytest.raises(ValueError, match=r"'plugin_.*' is not allowed"):
            SearchConfig.from_dict(section)


FIRST_REGISTRATION = r"""
import sys

from nas.plugins import PRUNERS, SAMPLERS

loaded_before = "nas.sampling.catalog" in sys.modules or "nas.pruning.catalog" in sys.modules
SAMPLERS.register("plugin_sampler")(lambda *, seed=None: None)
try:
    PRUNERS.add("pareto", lambda: None)
except ValueError as exc:
    print(exc)
print(loaded_before, ",".join(SAMPLERS.names()), "optuna" in sys.modules)
"""


def test_a_registration_before_any_read_meets_the_built_in_names() -> None:
    """The catalogs are imported on a registry's first use, not with :mod:`nas.plugins`: in a
    fresh interpreter a plug-in's first registration loads them, so its name joins the built-in
    ones and a taken name raises there, as it did when the catalogs were imported eagerly; the
    catalogs import Optuna only when a factory runs."""
    run = subprocess.run(
        [sys.executable, "-c", FIRST_REGISTRATION],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines() == [
        "pruner 'pareto' is already registered",
        "False nsga2,gp,plugin_sampler,random,tpe False",
    ]
