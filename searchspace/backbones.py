"""ResNet backbones as pure data: stage depths, widths, strides and the shapes they produce.

Two layouts:

- ImageNet style (He et al., CVPR 2016; torchvision's ``resnet18..101``): 7x7/2 stem conv and
  3x3/2 max-pool, four stages at 64/128/256/512 planes, strides 1/2/2/2.
- CIFAR style (the paper's section 4.2 ``resnet20/32/56``): 3x3 stem conv, three stages of
  ``n`` basic blocks at 16/32/64 planes, strides 1/2/2. Downsampling shortcuts are 1x1
  projections (the paper's option B), so every stage has a real ``identity`` branch to attend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from searchspace.layout import StageShape, scaled_channels, stage_shapes
from searchspace.registry import Registry

__all__ = ["BACKBONES", "Backbone", "StageShape", "feature_sizes", "get_backbone", "stage_shapes"]


@dataclass(frozen=True)
class Backbone:
    """Shape of one ResNet.

    Attributes:
        name: spec name (``"resnet50"``).
        style: ``"imagenet"`` (7x7 stem + max-pool) or ``"cifar"`` (3x3 stem).
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3, 1x1; expansion 4).
        depths: residual blocks per stage.
        planes: the width of each stage's 3x3 conv at ``width`` 1.0.
        stem: stem channels at ``width`` 1.0.
        default_input_size: the input side length a spec gets when it names none.
    """

    name: str
    style: Literal["imagenet", "cifar"]
    block: Literal["basic", "bottleneck"]
    depths: tuple[int, ...]
    planes: tuple[int, ...]
    stem: int
    default_input_size: int

    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    def stage_strides(self) -> tuple[int, ...]:
        return tuple(1 if i == 0 else 2 for i in range(self.num_stages))

    def scaled(self, channels: int, width: float) -> int:
        """``channels`` at multiplier ``width``: :func:`searchspace.layout.scaled_channels`."""
        return scaled_channels(channels, width)


BACKBONES: Registry[Backbone] = Registry("backbone", sort=False)
"""Every backbone by ``backbone`` name, in the order below (``nas space`` lists them so)."""
for _backbone in (
    Backbone("resnet18", "imagenet", "basic", (2, 2, 2, 2), (64, 128, 256, 512), 64, 224),
    Backbone("resnet34", "imagenet", "basic", (3, 4, 6, 3), (64, 128, 256, 512), 64, 224),
    Backbone("resnet50", "imagenet", "bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), 64, 224),
    Backbone("resnet101", "imagenet", "bottleneck", (3, 4, 23, 3), (64, 128, 256, 512), 64, 224),
    Backbone("resnet20", "cifar", "basic", (3, 3, 3), (16, 32, 64), 16, 32),
    Backbone("resnet32", "cifar", "basic", (5, 5, 5), (16, 32, 64), 16, 32),
    Backbone("resnet56", "cifar", "basic", (9, 9, 9), (16, 32, 64), 16, 32),
):
    BACKBONES.add(_backbone.name, _backbone)


def get_backbone(name: str) -> Backbone:
    """The backbone called ``name``; ``ValueError`` listing the known ones otherwise."""
    if name not in BACKBONES:
        raise ValueError(f"backbone: unknown {name!r}; allowed: {BACKBONES.listed()}")
    return BACKBONES[name]


def feature_sizes(backbone: Backbone, input_size: int) -> tuple[int, ...]:
    """Side length of each stage's output map for a square ``input_size`` input.

    Every stride-2 layer here (7x7/2 pad 3, 3x3/2 pad 1, max-pool 3/2 pad 1) maps n to
    ceil(n / 2), so the sizes follow without building the network.
    """
    size = input_size
    if backbone.style == "imagenet":
        size = _ceil_div(_ceil_div(size, 2), 2)
    sizes = []
    for stride in backbone.stage_strides():
        size = _ceil_div(size, stride)
        sizes.append(size)
    return tuple(sizes)


def _ceil_div(n: int, d: int) -> int:
    return (n + d - 1) // d
