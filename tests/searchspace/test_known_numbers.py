"""Known numbers: torchvision's parameter counts, state_dict keys and fvcore's MACs."""

from __future__ import annotations

import time

import pytest
import torchvision

from searchspace.build import build_model
from searchspace.cost import count_cost
from searchspace.spec import ArchSpec


@pytest.mark.parametrize(
    ("name", "params"),
    [("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032)],
)
def test_plain_resnets_match_torchvision(name: str, params: int) -> None:
    spec = ArchSpec.from_dict({"backbone": name})
    model = build_model(spec)
    assert sum(p.numel() for p in model.parameters()) == params
    assert count_cost(spec).params == params
    reference = getattr(torchvision.models, name)()
    assert model.state_dict().keys() == reference.state_dict().keys()


def test_torchvision_weights_load_with_only_attention_missing() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet18", "stages": [{"block": "se"}, {}, {}, {"block": "se"}]}
    )
    model = build_model(spec)
    result = model.load_state_dict(torchvision.models.resnet18().state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys
    assert all(".attn." in key for key in result.missing_keys)


def test_resnet50_macs_as_fvcore_counts_them() -> None:
    start = time.perf_counter()
    cost = count_cost(ArchSpec.from_dict({"backbone": "resnet50"}))
    elapsed = time.perf_counter() - start
    assert round(cost.macs / 1e9, 2) >= 4.09 and round(cost.macs / 1e9, 2) <= 4.12
    assert elapsed < 30  # a sanity bound, not a benchmark: the real figure is in docs/


def test_se_adds_exactly_its_mlp() -> None:
    plain = ArchSpec.from_dict({"backbone": "resnet20", "num_classes": 10})
    se = ArchSpec.from_dict(
        {
            "backbone": "resnet20",
            "num_classes": 10,
            "stages": [{"block": "se", "params": {"ratio": 4}}] * 3,
        }
    )
    # Per block: C->C/4 and C/4->C 1x1 convs with biases; three blocks per stage.
    expected = sum(3 * (2 * c * (c // 4) + c // 4 + c) for c in (16, 32, 64))
    assert count_cost(se).params - count_cost(plain).params == expected
    assert count_cost(se).macs - count_cost(plain).macs == sum(
        3 * 2 * c * (c // 4) for c in (16, 32, 64)
    )


def test_cifar_resnet20_size() -> None:
    """He et al.'s resnet20 with 1x1 projection shortcuts (option B): 0.27 M + 2 projections."""
    spec = ArchSpec.from_dict({"backbone": "resnet20", "num_classes": 10})
    assert count_cost(spec).params == 272_474
    assert 40e6 < count_cost(spec).macs < 42e6
