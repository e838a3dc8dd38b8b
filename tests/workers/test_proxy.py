"""The proxy: a spec's layout at the proxy's scale, through the one validated rescale."""

from __future__ import annotations

import pytest
import torch

from nas.export.weights import proxy_spec
from searchspace.build import build_model
from searchspace.catalog import block_info, block_names
from searchspace.spec import UNBUILDABLE, ArchSpec
from workers.proxy import make_proxy


def test_proxy_keeps_the_layout_and_adapts_the_shape() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{}, {"block": "se", "params": {"ratio": 8}}, {}]}
    )
    proxy = make_proxy(spec, width=0.25, input_size=28, in_channels=1, num_classes=10)
    assert proxy.spec.stages == spec.stages
    assert (proxy.spec.width, proxy.spec.input_size, proxy.spec.in_channels) == (0.25, 28, 1)
    assert proxy.notes == (
        "width 1.0 -> 0.25",
        "input_size 32 -> 28",
        "in_channels 3 -> 1",
        "num_classes 1000 -> 10",
    )
    build_model(proxy.spec)(torch.zeros(2, 1, 28, 28))


def test_width_rises_until_every_divisor_divides() -> None:
    """8 heads cannot divide the 4 channels of width 0.25: the proxy widens to the first
    width where they do, and says why."""
    stage = {"block": "sasa", "params": {"heads": 8}}
    spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": [stage, {}, {}]})
    assert spec.problems_at(0.25, rules=UNBUILDABLE)
    proxy = make_proxy(spec, width=0.25, input_size=16, in_channels=3, num_classes=10)
    width = proxy.spec.width
    assert 0.25 < width <= 1.0 and not spec.problems_at(width, rules=UNBUILDABLE)
    assert spec.problems_at(width - 1 / 64, rules=UNBUILDABLE), "not the smallest one"
    assert proxy.spec == proxy.spec.validated()
    raised = [note for note in proxy.notes if f"raised to {width}" in note]
    assert len(raised) == 1 and "stages[0].params.heads" in raised[0]
    build_model(proxy.spec)(torch.zeros(1, 3, 16, 16))


def test_a_reduction_past_the_narrowed_channels_keeps_the_width() -> None:
    """SE's default ratio 16 on the 4 channels of width 0.25: SE clamps its hidden width to
    one channel, so the proxy stays at 0.25 (widening would train it at full width)."""
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "se", "params": {"ratio": 16}}, {}, {}]}
    )
    assert spec.problems_at(0.25) and not spec.problems_at(0.25, rules=UNBUILDABLE)
    proxy = make_proxy(spec, width=0.25, input_size=16, in_channels=3, num_classes=10)
    assert proxy.spec.width == 0.25 and not any("raised" in note for note in proxy.notes)
    model = build_model(proxy.spec)
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 10)


def test_a_wider_proxy_that_breaks_a_divisor_is_refused() -> None:
    spec = ArchSpec.from_dict(
        {"backbone": "resnet20", "stages": [{"block": "sasa", "params": {"heads": 8}}, {}, {}]}
    )
    with pytest.raises(ValueError, match=r"^rescaled to width 1\.25, .*stages\[0\]\.params\.heads"):
        make_proxy(spec, width=1.25, input_size=16, in_channels=3, num_classes=10)


def test_export_rebuilds_the_proxy_the_worker_trained() -> None:
    """``nas export --weights`` rescales by the same validated path, to the same spec."""
    for stage in (
        {"block": "se", "params": {"ratio": 16}},
        {"block": "sasa", "params": {"heads": 8}},
    ):
        spec = ArchSpec.from_dict({"backbone": "resnet20", "stages": [stage, {}, {}]})
        proxy = make_proxy(spec, width=0.25, input_size=28, in_channels=1, num_classes=10).spec
        recorded = {"width": proxy.width, "input_size": 28, "in_channels": 1, "num_classes": 10}
        assert proxy_spec(spec, recorded) == proxy
    # a recorded width at which the heads cannot divide was never trained: refused
    with pytest.raises(ValueError, match=r"stages\[0\]\.params\.heads: 8 does not divide the 4"):
        proxy_spec(spec, {**recorded, "width": 0.25})


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
