"""One proxy run's model, optimizer and schedule, and what one epoch of it does.

Plain PyTorch: per batch one forward under autocast (bf16 on CUDA, off on CPU), one
backward, one optimizer and one schedule step. Per-step losses go into a tensor on the
device and are checked for NaN/inf every :data:`CHECK_EVERY` steps, so a GPU run does not
synchronise every step yet still names the exact step where training diverged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from searchspace.spec import ArchSpec
from workers import failures
from workers.batches import Batches
from workers.budget import ProxyBudget
from workers.failures import TrainingFailed

CHECK_EVERY = 8
"""Steps between NaN/inf checks of the loss (one device synchronisation each)."""

TAIL_FRACTION = 1 / 3
"""The share of an epoch's last steps whose mean loss is the epoch's ``train_loss_tail``: it
leaves out the learning-rate warm-up and the epoch's first, fastest-falling steps, where the
training loss ranks architectures worst (``docs/pruning.md``, measured by ``bench/rungs.py``)."""


@dataclass
class Loop:
    """The trainable parts of one run and the recipe they follow; ``step_losses`` holds the
    last epoch's per-step training losses, ``(steps,)`` on the device (for ``bench/rungs.py``:
    where in a run the signal starts to rank). ``compiled``, when set, is ``torch.compile`` of
    ``model`` (same parameters) and runs the training steps; evaluation stays eager, so its
    other batch sizes and eval-mode graph cost no second compilation."""

    spec: ArchSpec
    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    budget: ProxyBudget
    device: torch.device
    step_losses: torch.Tensor | None = field(default=None, repr=False)
    compiled: nn.Module | None = field(default=None, repr=False)

    @property
    def autocast(self) -> torch.autocast:
        cuda = self.device.type == "cuda"
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cuda)

    def train_epoch(self, epoch: int, batches: Batches) -> dict[str, float]:
        """One pass over ``batches``: ``train_loss`` (the mean over its steps),
        ``train_loss_tail`` (the mean over its last :data:`TAIL_FRACTION` of steps),
        ``images_per_s``, ``lr`` (at the end)."""
        self.model.train()
        losses = torch.zeros(len(batches), device=self.device)
        seen, checked, step = 0, 0, 0
        net = self.model if self.compiled is None else self.compiled
        started = time.perf_counter()
        for step, (x, y) in enumerate(batches, start=1):
            try:
                with self.autocast:
                    loss = F.cross_entropy(net(x), y, label_smoothing=self.budget.label_smoothing)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()  # its first step allocates the momentum buffers
            except TrainingFailed:
                raise
            except Exception as exc:
                raise self._failure(exc, epoch, step) from exc
            self.schedule.step()
            losses[step - 1] = loss.detach()
            seen += y.shape[0]
            if step % CHECK_EVERY == 0:
                self._check(losses, checked, step, epoch)
                checked = step
        self._check(losses, checked, step, epoch)
        self.step_losses = losses[:step]
        elapsed = time.perf_counter() - started
        tail = self.step_losses[min(round(step * (1 - TAIL_FRACTION)), step - 1) :]
        return {
            "train_loss": float(self.step_losses.mean()) if step else float("nan"),
            "train_loss_tail": float(tail.mean()) if step else float("nan"),
            "images_per_s": seen / max(elapsed, 1e-9),
            "lr": float(self.schedule.get_last_lr()[0]),
        }

    @torch.no_grad()
    def evaluate(self, batches: Batches) -> dict[str, float]:
        """``val_accuracy`` in [0, 1] and mean ``val_loss`` (plain cross-entropy) on ``batches``.

        Out of memory here (evaluation batches are twice the training batch) is a
        :class:`TrainingFailed` naming that batch, like one in training.
        """
        self.model.eval()
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        total_loss = torch.zeros((), device=self.device)
        for x, y in batches:
            try:
                with self.autocast:
                    logits = self.model(x)
            except Exception as exc:
                if not failures.is_out_of_memory(exc):
                    raise
                raise failures.out_of_memory(exc, self.device, int(y.shape[0])) from exc
            total_loss += F.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(dim=1) == y).sum()
        n = max(1, batches.num_samples)
        return {"val_accuracy": int(correct) / n, "val_loss": float(total_loss) / n}

    def _check(self, losses: torch.Tensor, start: int, stop: int, epoch: int) -> None:
        window = losses[start:stop]
        if bool(torch.isfinite(window).all()):
            return
        bad = int((~torch.isfinite(window)).nonzero()[0])
        value = float(window[bad])
        raise failures.non_finite_loss(epoch, start + bad + 1, value, self.budget.peak_lr)

    def _failure(self, exc: Exception, epoch: int, step: int) -> TrainingFailed:
        if failures.is_out_of_memory(exc):
            return failures.out_of_memory(exc, self.device, self.budget.batch_size)
        return failures.model_error(exc, self.model, self.spec, epoch, step)
