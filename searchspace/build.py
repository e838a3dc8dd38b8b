"""``build_model(spec)``: the torch network a spec describes."""

from __future__ import annotations

from torch import nn

from searchspace.backbones import stage_shapes
from searchspace.blocks import create_block
from searchspace.resnet import ResNet
from searchspace.spec import ArchSpec


def build_model(spec: ArchSpec) -> nn.Module:
    """Build ``spec`` with freshly initialised weights.

    ``spec`` is taken as given; build from :meth:`ArchSpec.from_dict` (or call
    :meth:`ArchSpec.validated`) so a hand-made spec is checked first.
    """
    backbone = spec.info
    shapes = stage_shapes(backbone, spec.width)
    return ResNet(
        style=backbone.style,
        block=backbone.block,
        depths=backbone.depths,
        planes=[s.planes for s in shapes],
        stem=backbone.scaled(backbone.stem, spec.width),
        in_channels=spec.in_channels,
        num_classes=spec.num_classes,
        stages=[s.to_dict() for s in spec.stages],
        factory=create_block,
    )
