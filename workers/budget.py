"""The proxy budget: how small, how long and with which recipe a candidate is trained.

A proxy is the spec at reduced width and/or resolution, trained for a few epochs on a subset
of the training split (the cheap-proxy idea of Zoph et al., "Learning Transferable
Architectures for Scalable Image Recognition", CVPR 2018, and Cai et al., ProxylessNAS, ICLR
2019). The defaults are the search's (``nas train`` trains the same proxy): a width-0.5
resnet20, 3 epochs on 2,000 Fashion-MNIST images, a tenth of the run warming up, about 15 s on
one CPU thread; ``docs/fidelity.md`` measures how well such runs rank architectures. This
module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from searchspace.fields import Names, choice, flag, integer, number, reject_unknown, width
from workers.optimizers import OPTIMIZERS

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
BUDGET = Names("budget")
"""How a trial config (and this module) names the fields: ``budget.epochs``."""


@dataclass(frozen=True)
class ProxyBudget:
    """Scale and recipe of one proxy training run.

    Attributes:
        epochs: passes over the training subset.
        train_samples: size of the training subset (``None``: the whole training split).
        val_samples: size of the validation subset (``None``: the whole validation split).
        width: proxy width multiplier (``None``: the spec's own width).
        input_size: proxy resolution in pixels (``None``: the dataset's native size).
        batch_size: training batch size (validation uses twice this).
        optimizer: ``"sgd"`` (Nesterov momentum 0.9) or ``"adamw"``.
        lr: peak learning rate (``None``: :data:`~workers.optimizers.OPTIMIZERS`).
        weight_decay: decay on conv and linear weights only, never norms or biases
            (``None``: :data:`~workers.optimizers.OPTIMIZERS`).
        label_smoothing: Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016.
        warmup_fraction: share of the run's steps spent in the linear warm-up before the
            cosine decay, in [0, 0.5]. A fraction, not epochs: a whole warm-up epoch of a
            short proxy leaves its first rung at chance accuracy (docs/fidelity.md).
        augment: random crop with padding and horizontal flip where the dataset allows it.
        seed: seeds weights, batch order and augmentation (runs on CPU are bit-identical).
        device: ``"auto"`` (CUDA when visible, else CPU), ``"cpu"`` or ``"cuda"``.
        compile: train through ``torch.compile`` (off by default: its compile time per trial
            against its steady-state gain is what ``bench/gpu.py`` measures). Like ``device``
            it changes how a trial runs, not what it means, so a resumed study may change it.
    """

    epochs: int = 3
    train_samples: int | None = 2000
    val_samples: int | None = 1000
    width: float | None = 0.5
    input_size: int | None = None
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float | None = None
    weight_decay: float | None = None
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.1
    augment: bool = True
    seed: int = 0
    device: str = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        _validate(asdict(self), BUDGET)
        defaults = OPTIMIZERS[self.optimizer]
        if self.lr is None:
            object.__setattr__(self, "lr", defaults.lr)
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", defaults.weight_decay)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], names: Names = BUDGET) -> ProxyBudget:
        """Validate ``data`` (omitted fields take defaults); ``ValueError`` names the field as
        ``names`` says the user wrote it (``proxy.epochs`` in a search config, ``--epochs``)."""
        if "warmup_epochs" in data:
            raise ValueError(
                f"{names('warmup_epochs')}: replaced by warmup_fraction, the share of the run "
                "spent warming up (e.g. 0.1)"
            )
        reject_unknown(names.section, data, tuple(f.name for f in fields(cls)))
        _validate({**{f.name: f.default for f in fields(cls)}, **data}, names)
        return cls(**dict(data))

    @property
    def peak_lr(self) -> float:
        assert self.lr is not None
        return self.lr

    @property
    def decay(self) -> float:
        assert self.weight_decay is not None
        return self.weight_decay


def _validate(b: Mapping[str, Any], n: Names) -> None:
    integer(n("epochs"), b["epochs"])
    integer(n("train_samples"), b["train_samples"], null=n.null("train_samples"))
    integer(n("val_samples"), b["val_samples"], null=n.null("val_samples"))
    width(n("width"), b["width"], null=n.null("width"))
    integer(n("input_size"), b["input_size"], minimum=8, null=n.null("input_size"))
    integer(n("batch_size"), b["batch_size"])
    choice(n("optimizer"), b["optimizer"], OPTIMIZERS.names())
    number(n("lr"), b["lr"], high=10, open_low=True, null=n.null("lr"))
    number(n("weight_decay"), b["weight_decay"], high=1, null=n.null("weight_decay"))
    number(n("label_smoothing"), b["label_smoothing"], high=0.5)
    number(n("warmup_fraction"), b["warmup_fraction"], high=0.5)
    flag(n("augment"), b["augment"])
    integer(n("seed"), b["seed"], minimum=0)
    choice(n("device"), b["device"], DEVICES)
    flag(n("compile"), b["compile"])
