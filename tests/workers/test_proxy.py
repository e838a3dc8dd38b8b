from __future__ import annotations

import pytest
import torch

from searchspace.build import build_model
from searchspace.catalog import block_info, block_names
from searchspace.spec import ArchSpec
from workers.proxy import divisor_problems, make_proxy


def test_proxy_keeps_the_layout_and_adapts_the_shape() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{}, {"block": "se", "params": {"ratio": 32}}, {}]}
    )
    proxy = make_proxy(spec, width=0.25, input_size=28, in_channels=1, num_classes=10)
    assert proxy.spec.stages == spec.stages
    assert (proxy.spec.width, proxy.spec.input_size, proxy.spec.in_channels) == (0.25, 28, 1)
    assert "width 1.0 -> 0.25" in proxy.notes and "input_size 32 -> 28" in proxy.notes
    # ratio 32 on 8 channels is illegal as a spec, yet the block clamps and builds
    build_model(proxy.spec)(torch.zeros(2, 1, 28, 28))


def test_width_rises_until_divisor_parameters_divide() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "sasa", "params": {"heads": 8}}, {}, {}]}
    )
    assert divisor_problems(spec, 0.25)
    proxy = make_proxy(spec, width=0.25, input_size=16, in_channels=3, num_classes=10)
    width = proxy.spec.width
    assert 0.25 < width <= 0.5 and not divisor_problems(spec, width)
    assert divisor_problems(spec, width - 1 / 64), "not the smallest buildable width"
    assert any(f"raised to {width}" in note for note in proxy.notes)
    build_model(proxy.spec)(torch.zeros(1, 3, 16, 16))


def _natural_stage(name: str) -> dict[str, object]:
    return {"block": name, "position": block_info(name).positions[0]}


@pytest.mark.parametrize("name", [n for n in block_names() if n != "none"])
def test_every_block_trains_at_the_default_proxy_scale(name: str) -> None:
    """Each block at its defaults, in the last stage, at width 0.5 on 28x28 grey images."""
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": [{}, {}, _natural_stage(name)]})
    proxy = make_proxy(spec, width=0.5, input_size=28, in_channels=1, num_classes=10)
    model = build_model(proxy.spec)
    loss = model(torch.randn(2, 1, 28, 28)).logsumexp(dim=1).mean()
    loss.backward()
    assert torch.isfinite(loss)
