from __future__ import annotations

import pytest

from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.optimizers import OPTIMIZERS


def test_defaults_resolve_the_optimizer_recipe() -> None:
    sgd, adamw = OPTIMIZERS["sgd"], OPTIMIZERS["adamw"]
    assert (ProxyBudget().lr, ProxyBudget().weight_decay) == (sgd.lr, sgd.weight_decay)
    budget = ProxyBudget(optimizer="adamw")
    assert (budget.lr, budget.weight_decay) == (adamw.lr, adamw.weight_decay)
    assert ProxyBudget(lr=0.05).lr == 0.05


def test_round_trip_through_dicts() -> None:
    budget = ProxyBudget(epochs=2, train_samples=None, width=0.25, input_size=16, augment=False)
    assert ProxyBudget.from_dict(budget.to_dict()) == budget
    data = DataConfig(dataset="cifar10", data_dir="/data", val_fraction=0.2, split_seed=3)
    assert DataConfig.from_dict(data.to_dict()) == data


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"epochs": 0}, "budget.epochs: expected an integer >= 1"),
        ({"epochs": 2.5}, "budget.epochs"),
        ({"train_samples": 0}, "budget.train_samples"),
        ({"width": 0}, "budget.width: expected a number in (0, 8]"),
        ({"input_size": 4}, "budget.input_size: expected an integer >= 8"),
        ({"optimizer": "adam"}, "budget.optimizer: 'adam' is not one of sgd, adamw"),
        ({"lr": -1.0}, "budget.lr"),
        ({"lr": float("nan")}, "budget.lr"),
        ({"label_smoothing": 0.9}, "budget.label_smoothing"),
        ({"warmup_fraction": 0.6}, "budget.warmup_fraction: expected a number in [0, 0.5]"),
        ({"warmup_epochs": 1}, "budget.warmup_epochs: replaced by warmup_fraction"),
        ({"augment": 1}, "budget.augment: expected true or false"),
        ({"compile": "yes"}, "budget.compile: expected true or false"),
        ({"device": "tpu"}, "budget.device"),
        ({"epoch": 3}, "budget.epoch: unknown key"),
    ],
)
def test_budget_errors_name_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        ProxyBudget.from_dict(fields)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dataset": "mnist"}, "data.dataset: unknown 'mnist'; allowed: "),
        ({"val_fraction": 0}, "data.val_fraction"),
        ({"val_fraction": 1.0}, "data.val_fraction"),
        ({"split_seed": -1}, "data.split_seed"),
        ({"data_dir": 3}, "data.data_dir"),
        ({"folder": "x"}, "data.folder: unknown key"),
    ],
)
def test_data_errors_name_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace("[", r"\[")):
        DataConfig.from_dict(fields)


def test_every_dataset_is_registered() -> None:
    for name in ("fashion_mnist", "cifar10", "cifar100", "imagefolder"):
        assert DataConfig(dataset=name).dataset == name
