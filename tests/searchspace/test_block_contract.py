"""Contract tests every registered block must pass, at every legal insertion point."""

from __future__ import annotations

import pytest
import torch

from searchspace.blocks import create_block, registered_blocks
from searchspace.build import build_model
from searchspace.catalog import block_info, block_names
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec

BLOCKS = list(registered_blocks())
CONV_LIKE = [n for n in BLOCKS if "replace" in block_info(n).positions]


def _check_grads(module: torch.nn.Module) -> None:
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


def test_catalog_and_registry_agree() -> None:
    assert set(block_names()) == set(BLOCKS)


@pytest.mark.parametrize("name", BLOCKS)
@pytest.mark.parametrize("size", [7, 16])
def test_block_keeps_shape_and_trains(name: str, size: int) -> None:
    torch.manual_seed(0)
    block = create_block(name, 32)
    x = torch.randn(2, 32, size, size, requires_grad=True)
    y = block(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    _check_grads(block)


@pytest.mark.parametrize("name", CONV_LIKE)
@pytest.mark.parametrize("size", [7, 8])
def test_replacement_strides_like_a_conv(name: str, size: int) -> None:
    block = create_block(name, 16, stride=2)
    y = block(torch.randn(2, 16, size, size))
    assert y.shape == (2, 16, (size + 1) // 2, (size + 1) // 2)


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [(n, p.name, c) for n in BLOCKS for p in block_info(n).params for c in p.choices],
)
def test_every_declared_choice_builds(name: str, param: str, value: object) -> None:
    block = create_block(name, 64, **{param: value})  # type: ignore[arg-type]
    block.eval()
    with torch.no_grad():
        y = block(torch.randn(1, 64, 9, 9))
    assert y.shape == (1, 64, 9, 9)
    assert torch.isfinite(y).all()


def _layouts() -> list[tuple[str, str, str]]:
    cases = []
    for name in BLOCKS:
        if name == "none":
            continue
        for position in block_info(name).positions:
            for backbone in ("resnet20", "resnet50"):
                cases.append((name, position, backbone))
    return cases


def _spec(name: str, position: str, backbone: str, in_channels: int) -> ArchSpec:
    scale = {"resnet20": (1.0, 16), "resnet50": (0.25, 32)}[backbone]
    num_stages = 3 if backbone == "resnet20" else 4
    stage = {"block": name, "position": position}
    first = num_stages // 2 if block_info(name).late_only else 0
    stages = [stage if i >= first else {} for i in range(num_stages)]
    return ArchSpec.from_dict(
        {
            "backbone": backbone,
            "width": scale[0],
            "input_size": scale[1],
            "in_channels": in_channels,
            "num_classes": 5,
            "stages": stages,
        }
    )


@pytest.mark.parametrize(("name", "position", "backbone"), _layouts())
def test_block_in_a_resnet(name: str, position: str, backbone: str) -> None:
    torch.manual_seed(0)
    spec = _spec(name, position, backbone, in_channels=3)
    model = build_model(spec)
    x = torch.randn(2, 3, spec.input_size, spec.input_size)
    logits = model(x)
    assert logits.shape == (2, 5)
    assert torch.isfinite(logits).all()
    logits.logsumexp(1).mean().backward()
    _check_grads(model)
    cost = count_cost(spec)
    assert cost.params == sum(p.numel() for p in model.parameters())
    plain = count_cost(spec.without_attention())
    assert cost.macs >= plain.macs or position == "replace"


@pytest.mark.parametrize("name", [n for n in BLOCKS if n != "none"])
@pytest.mark.parametrize("size", [15, 16])
def test_single_image_eval_on_one_channel(name: str, size: int) -> None:
    """Batch size 1 in eval mode on a grey image, at odd and even sizes."""
    spec = _spec(name, block_info(name).positions[0], "resnet20", in_channels=1)
    spec = spec.with_scale(input_size=size)
    model = build_model(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, size, size))
    assert out.shape == (1, 5)
    assert torch.isfinite(out).all()
