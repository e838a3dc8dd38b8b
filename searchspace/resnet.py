"""ResNet with attention slots at every insertion point, in torchvision's layout.

He, Zhang, Ren, Sun: "Deep Residual Learning for Image Recognition", CVPR 2016,
https://arxiv.org/abs/1512.03385. Module names follow torchvision (``conv1/bn1/layer1..4/fc``,
``downsample``) so its weights load with ``strict=False`` and only attention keys missing.

Attention lives in named slots: ``attn_pre`` (branch input), ``attn_mid`` (after the 3x3 conv,
its BN and ReLU), ``attn`` (end of the branch, before the add, as timm names it),
``attn_identity`` (shortcut), ``attn_post`` (after add and ReLU); a ``stage_end`` block is
appended to the stage's ``nn.Sequential``; a ``replace`` block takes the place of the 3x3 conv.
Empty slots are ``nn.Identity``, which has no parameters and no state_dict keys.

This module imports only torch and :mod:`searchspace.layout` (which blocks get attention, and
the channels each sees: one rule for the builder, the specs and the search space), so
``nas export`` can copy it into a self-contained file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from searchspace.layout import block_channels, selected_blocks

BlockFactory = Callable[..., nn.Module]
"""``factory(name, channels, stride=1, **params) -> nn.Module``: builds one attention block."""


class BasicBlock(nn.Module):
    """Two 3x3 convs; ``replace`` swaps the second (stride 1, ``planes`` to ``planes``)."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        attention: Mapping[str, nn.Module],
    ) -> None:
        super().__init__()
        self.attn_pre = attention.get("pre", nn.Identity())
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.attn_mid = attention.get("mid", nn.Identity())
        self.conv2 = attention.get("replace") or nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attn = attention.get("branch", nn.Identity())
        self.downsample = downsample
        self.attn_identity = attention.get("identity", nn.Identity())
        self.attn_post = attention.get("post", nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        """``(B, inplanes, H, W) -> (B, planes, H / stride, W / stride)``."""
        out = self.relu(self.bn1(self.conv1(self.attn_pre(x))))
        out = self.bn2(self.conv2(self.attn_mid(out)))
        out = self.attn(out)
        identity = x if self.downsample is None else self.downsample(x)
        out = out + self.attn_identity(identity)
        return self.attn_post(self.relu(out))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, ResNet v1.5), 1x1 expand by 4; ``replace`` swaps the 3x3."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        attention: Mapping[str, nn.Module],
    ) -> None:
        super().__init__()
        self.attn_pre = attention.get("pre", nn.Identity())
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = attention.get("replace") or nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attn_mid = attention.get("mid", nn.Identity())
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.attn = attention.get("branch", nn.Identity())
        self.downsample = downsample
        self.attn_identity = attention.get("identity", nn.Identity())
        self.attn_post = attention.get("post", nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        """``(B, inplanes, H, W) -> (B, 4 * planes, H / stride, W / stride)``."""
        out = self.relu(self.bn1(self.conv1(self.attn_pre(x))))
        out = self.attn_mid(self.relu(self.bn2(self.conv2(out))))
        out = self.attn(self.bn3(self.conv3(out)))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + self.attn_identity(identity)
        return self.attn_post(self.relu(out))


class ResNet(nn.Module):
    """A ResNet whose stages carry the attention of ``stages`` (spec JSON form).

    Args:
        style: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool stem) or ``"cifar"`` (3x3 conv stem).
        block: ``"basic"`` or ``"bottleneck"``.
        depths: residual blocks per stage.
        planes: 3x3-conv width per stage, already scaled by the width multiplier.
        stem: stem output channels, already scaled.
        stages: per stage ``{"block", "params", "position", "blocks"}``.
        factory: builds an attention block by registry name.

    ``(B, in_channels, H, W) -> (B, num_classes)`` logits.
    """

    def __init__(
        self,
        *,
        style: str,
        block: str,
        depths: Sequence[int],
        planes: Sequence[int],
        stem: int,
        in_channels: int,
        num_classes: int,
        stages: Sequence[Mapping[str, Any]],
        factory: BlockFactory,
    ) -> None:
        super().__init__()
        unit = Bottleneck if block == "bottleneck" else BasicBlock
        if style == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, stem, 7, 2, 3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        inplanes = stem
        built: list[nn.Module] = []

        def track(name: str, channels: int, **kwargs: Any) -> nn.Module:
            module = factory(name, channels, **kwargs)
            built.append(module)
            return module

        for index, (depth, width, stage) in enumerate(zip(depths, planes, stages, strict=True)):
            stride = 1 if index == 0 else 2
            layer = _make_stage(unit, inplanes, width, depth, stride, stage, track)
            self.add_module(f"layer{index + 1}", layer)
            inplanes = width * unit.expansion
        self.num_stages = len(depths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        _init_weights(self, built)

    def forward_features(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W) -> (B, C_last, H', W')`` before pooling."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def _make_stage(
    unit: type[BasicBlock] | type[Bottleneck],
    inplanes: int,
    planes: int,
    depth: int,
    stride: int,
    stage: Mapping[str, Any],
    factory: BlockFactory,
) -> nn.Sequential:
    """One stage: ``depth`` residual blocks, attention where ``stage`` puts it."""
    name, params, position = stage["block"], stage["params"], stage["position"]
    chosen = selected_blocks(stage["blocks"], depth) if name != "none" else ()
    out = planes * unit.expansion
    blocks: list[nn.Module] = []
    for index in range(depth):
        block_in = inplanes if index == 0 else out
        block_stride = stride if index == 0 else 1
        attention: dict[str, nn.Module] = {}
        if index in chosen and position != "stage_end":
            channels = block_channels(
                position, index, in_channels=inplanes, planes=planes, out_channels=out
            )
            conv_stride = block_stride if unit is Bottleneck else 1
            extra = {"stride": conv_stride} if position == "replace" else {}
            attention[position] = factory(name, channels, **extra, **params)
        downsample = None
        if block_stride != 1 or block_in != out:
            downsample = nn.Sequential(
                nn.Conv2d(block_in, out, 1, block_stride, bias=False), nn.BatchNorm2d(out)
            )
        blocks.append(unit(block_in, planes, block_stride, downsample, attention))
    if name != "none" and position == "stage_end":
        blocks.append(factory(name, out, **params))
    return nn.Sequential(*blocks)


def _init_weights(model: nn.Module, attention: Sequence[nn.Module]) -> None:
    """torchvision's initialisation: He-normal (fan-out) convs, unit-gamma zero-beta norms.

    Only the backbone's own layers are touched: attention blocks keep the initialisation
    their papers prescribe (zero gammas, DCT filters, zero last convs).
    """
    skip = {id(m) for block in attention for m in block.modules()}
    for module in model.modules():
        if id(module) in skip:
            continue
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
