"""Why a proxy could not be trained: :class:`TrainingFailed`, and the constructors that turn what
goes wrong inside a training step (a diverging loss, running out of memory, an exception in the
model) into its one actionable line, the reason the search stores for the trial.

Imports torch (to recognise its errors and modules); torch-free code catches nothing from here.
"""

from __future__ import annotations

import re
from types import TracebackType

import torch
from torch import nn

from searchspace.spec import ArchSpec

_OOM = re.compile(r"out of memory|can't allocate memory|not enough memory", re.IGNORECASE)


class TrainingFailed(RuntimeError):
    """Training stopped for a reason that retrying the same spec and budget will not fix.

    Raised for a diverging loss (NaN/inf), running out of memory, or an exception inside the
    model's forward pass. ``str(exc)`` is one line naming the cause and a way forward.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(reason.split()))

    @property
    def reason(self) -> str:
        return str(self)


def non_finite_loss(epoch: int, step: int, value: float, lr: float) -> TrainingFailed:
    """The loss became NaN/inf at 1-based ``epoch`` and ``step`` of that epoch (peak ``lr``)."""
    return TrainingFailed(
        f"loss became {value} at epoch {epoch} step {step} (peak lr {lr:.3g}); training diverged: "
        f"lower budget.lr (e.g. {lr / 3:.2g}) or raise budget.warmup_fraction"
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (CUDA's ``OutOfMemoryError`` or the CPU's)."""
    return isinstance(exc, torch.OutOfMemoryError) or bool(_OOM.search(str(exc)))


def out_of_memory(exc: BaseException, device: torch.device, batch_size: int) -> TrainingFailed:
    first = _first_line(exc)
    return TrainingFailed(
        f"out of memory on {device.type} at batch size {batch_size} ({first}); "
        "lower budget.batch_size, budget.width or budget.input_size"
    )


def model_error(
    exc: BaseException, model: nn.Module, spec: ArchSpec, epoch: int, step: int
) -> TrainingFailed:
    """An exception raised by the model, naming the attention block it came from if any."""
    where = failing_module(exc.__traceback__, model)
    if where is not None:
        location = f"in {where}"
        stage = _stage_of(where)
        if stage is not None and stage < len(spec.stages):
            location += f" (stage {stage}: {spec.stages[stage].label()})"
    else:
        labels = "; ".join(s.label() for s in spec.stages if s.block != "none") or "no attention"
        location = f"in {spec.backbone} with {labels}"
    return TrainingFailed(
        f"model failed at epoch {epoch} step {step} {location}: "
        f"{type(exc).__name__}: {_first_line(exc)}"
    )


def failing_module(tb: TracebackType | None, model: nn.Module) -> str | None:
    """Qualified name of the innermost attention block (else any module) on the traceback."""
    names = {id(m): name for name, m in model.named_modules()}
    block, any_module = None, None
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, nn.Module) and id(owner) in names:
            any_module = names[id(owner)] or type(owner).__name__
            if hasattr(owner, "block_name"):
                block = f"{any_module} [{owner.block_name}]"
        tb = tb.tb_next
    return block or any_module


def _stage_of(module_name: str) -> int | None:
    match = re.match(r"layer(\d+)\b", module_name)
    return int(match.group(1)) - 1 if match else None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]
