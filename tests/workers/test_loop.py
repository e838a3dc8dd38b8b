"""The training loop (``workers.loop.Loop``) on synthetic batches: its step losses, and each
way a step fails as one ``TrainingFailed`` line (a non-finite loss, a block that raises, out of
memory)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from searchspace.build import build_model
from searchspace.spec import ArchSpec
from workers import failures
from workers.batches import Normalize, TensorBatches
from workers.budget import ProxyBudget
from workers.failures import TrainingFailed
from workers.loop import Loop
from workers.recipe import make_optimizer, make_schedule


def _loop(spec: ArchSpec, model: nn.Module, budget: ProxyBudget) -> tuple[Loop, TensorBatches]:
    images = torch.randint(0, 255, (8, 1, 12, 12), dtype=torch.uint8)
    batches = TensorBatches(
        images,
        torch.arange(8) % 10,
        Normalize.from_images(images),
        budget.batch_size,
        generator=torch.Generator(),
    )
    optimizer = make_optimizer(model, budget)
    loop = Loop(
        spec,
        model,
        optimizer,
        make_schedule(optimizer, budget, len(batches)),
        budget,
        torch.device("cpu"),
    )
    return loop, batches


def test_nan_loss_fails_with_the_step_and_advice(tiny_spec: ArchSpec) -> None:
    budget = ProxyBudget(epochs=1, batch_size=4)
    spec = tiny_spec.with_scale(width=0.25, in_channels=1, num_classes=10, input_size=12)
    model = build_model(spec)
    loop, batches = _loop(spec, model, budget)
    with torch.no_grad():
        model.fc.bias.fill_(float("nan"))  # type: ignore[union-attr, operator]
    with pytest.raises(
        TrainingFailed, match=r"loss became nan at epoch 3 step 1 .*lower budget.lr"
    ):
        loop.train_epoch(3, batches)


def test_an_epoch_keeps_its_step_losses(tiny_spec: ArchSpec) -> None:
    budget = ProxyBudget(epochs=1, batch_size=4)
    spec = tiny_spec.with_scale(width=0.25, in_channels=1, num_classes=10, input_size=12)
    loop, batches = _loop(spec, build_model(spec), budget)
    metrics = loop.train_epoch(1, batches)
    assert loop.step_losses is not None and loop.step_losses.shape == (len(batches),)
    assert float(loop.step_losses.mean()) == pytest.approx(metrics["train_loss"])
    assert bool((loop.step_losses > 0).all()), "every step's loss, none left at zero"
    assert len(batches) == 2, "the last third of two steps rounds to the last one"
    assert metrics["train_loss_tail"] == pytest.approx(float(loop.step_losses[-1]))
    assert metrics["train_loss_tail"] != pytest.approx(metrics["train_loss"])


def test_an_epoch_of_one_step_has_that_steps_loss_as_its_tail(tiny_spec: ArchSpec) -> None:
    spec = tiny_spec.with_scale(width=0.25, in_channels=1, num_classes=10, input_size=12)
    loop, batches = _loop(spec, build_model(spec), ProxyBudget(epochs=1, batch_size=8))
    metrics = loop.train_epoch(1, batches)
    assert len(batches) == 1 and math.isfinite(metrics["train_loss_tail"])
    assert metrics["train_loss_tail"] == pytest.approx(metrics["train_loss"])


class _Broken(nn.Module):
    block_name = "se"

    def forward(self, x: Tensor) -> Tensor:
        return x.view(-1, 7)  # the wrong shape: a real error raised by torch


def test_model_error_names_the_block(tiny_spec: ArchSpec) -> None:
    spec = tiny_spec.with_scale(width=0.25, in_channels=1, num_classes=10, input_size=12)
    model = build_model(spec)
    model.layer1[1].attn = _Broken()  # type: ignore[index, union-attr]
    loop, batches = _loop(spec, model, ProxyBudget(epochs=1, batch_size=4))
    with pytest.raises(TrainingFailed) as info:
        loop.train_epoch(1, batches)
    message = str(info.value)
    assert "epoch 1 step 1 in layer1.1.attn [se] (stage 0: se(ratio=4)@branch/all)" in message
    assert "RuntimeError" in message and "\n" not in message


class _HungryWhenEvaluated(nn.Module):
    """Asks for more memory than any machine has, in eval mode only: torch's own CPU error."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            torch.empty(2**62, dtype=torch.uint8)
        return x


def test_out_of_memory_in_evaluation_is_one_line_naming_its_batch(tiny_spec: ArchSpec) -> None:
    """Evaluation runs at twice the training batch, so it can run out where training did not;
    it fails like training does, not with a raw error Tune would retry."""
    spec = tiny_spec.with_scale(width=0.25, in_channels=1, num_classes=10, input_size=12)
    model = build_model(spec)
    model.layer1[1].attn = _HungryWhenEvaluated()  # type: ignore[index, union-attr]
    loop, batches = _loop(spec, model, ProxyBudget(epochs=1, batch_size=4))
    loop.train_epoch(1, batches)
    evaluation = TensorBatches(
        batches.images, batches.labels, Normalize.from_images(batches.images), 8
    )
    with pytest.raises(TrainingFailed) as info:
        loop.evaluate(evaluation)
    message = str(info.value)
    assert message.startswith("out of memory on cpu at batch size 8 (") and "\n" not in message


def test_out_of_memory_is_recognised() -> None:
    with pytest.raises(RuntimeError) as info:
        torch.empty(2**62, dtype=torch.uint8)
    assert failures.is_out_of_memory(info.value)
    failed = failures.out_of_memory(info.value, torch.device("cpu"), 128)
    assert "out of memory on cpu at batch size 128" in str(failed)
    assert "lower budget.batch_size" in str(failed)
    assert not failures.is_out_of_memory(ValueError("shape mismatch"))
