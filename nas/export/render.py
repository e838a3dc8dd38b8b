"""Render a validated :class:`ArchSpec` as one self-contained, readable Python module.

The module holds, in this order: a docstring with the architecture and its origin, imports
(torch and the standard library; torchvision only for blocks built on ``torchvision.ops``), the
source of exactly the attention blocks the spec uses and their helpers, the ResNet of
:mod:`searchspace.resnet` (with :func:`searchspace.layout.selected_blocks` inlined), a
``BLOCKS`` table, the ``create_block`` factory ``ResNet`` expects, ``SPEC`` (the canonical
spec dict) and ``build_model(num_classes=..., in_channels=...)``.

Only validated data reaches executable code: ``SPEC`` is the ``repr`` of plain JSON types from
:meth:`ArchSpec.to_dict` of a spec rebuilt with :meth:`ArchSpec.from_dict`, block names are
registry keys, and untrusted text (study names, command lines) stays in the docstring.
"""

from __future__ import annotations

import ast
import math
import pprint
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nas.export.origin import Origin
from nas.export.source import SourceCollector
from searchspace.backbones import get_backbone, stage_shapes
from searchspace.catalog import POSITIONS, block_info
from searchspace.spec import SELECTORS, ArchSpec

GENERATED_NAMES = frozenset({"BLOCKS", "STRIDED", "SPEC", "create_block", "build_model", "main"})

BACKBONE_CITATION = (
    "He, Zhang, Ren and Sun, Deep Residual Learning for Image Recognition, CVPR 2016",
    "https://arxiv.org/abs/1512.03385",
)
"""Every backbone here is a ResNet of this paper (ImageNet and CIFAR layouts, section 4.2)."""


@dataclass(frozen=True)
class Rendered:
    """An exported module: its source ``text`` and whether it needs torchvision."""

    text: str
    needs_torchvision: bool
    formatted: bool


def render_module(spec: ArchSpec, origin: Origin, module_name: str = "model") -> Rendered:
    """The source of a module whose ``build_model()`` builds ``spec``.

    ``spec`` should come from :meth:`ArchSpec.from_dict` (possibly rescaled, as a proxy is);
    its structure is checked again here, so nothing unchecked can reach the code.
    """
    from searchspace.blocks import register, registered_blocks
    from searchspace.resnet import ResNet

    classes = registered_blocks()
    _check_structure(spec, classes)
    used = sorted({s.block for s in spec.stages} - {"none"})
    collector = SourceCollector(drop_decorators=(register,), reserved=GENERATED_NAMES)
    # The backbone first, so it keeps its own names if a block module reuses one.
    collector.add(ResNet)
    backbone_chunks = [_scriptable(c, spec.info.num_stages) for c in collector.chunks]
    collector.chunks = []
    table = {name: collector.add(classes[name]) for name in used}
    block_chunks = collector.chunks
    collector.require("torch", "nn")
    collector.require("typing", "Any")
    needs_torchvision = collector.uses_module("torchvision")
    strided = [n for n in used if "replace" in block_info(n).positions]
    docstring = _docstring(spec, origin, module_name, needs_torchvision)
    parts = [
        _literal_docstring(docstring),
        "from __future__ import annotations",
        collector.imports_text(),
        *(["# Attention blocks, copied from searchspace/blocks/.", *block_chunks] if used else []),
        "# The backbone, copied from searchspace/resnet.py.",
        *backbone_chunks,
        "# The architecture.",
        _generated_code(spec, table, strided),
    ]
    text = "\n\n\n".join(parts) + "\n"
    compile(text, f"{module_name}.py", "exec")
    formatted = _ruff_format(text)
    used_ruff = formatted is not None and _docstring_of(formatted) == docstring
    if used_ruff:
        assert formatted is not None
        compile(formatted, f"{module_name}.py", "exec")
        text = formatted
    assert _docstring_of(text) == docstring, "the docstring did not survive as a literal"
    return Rendered(text, needs_torchvision, used_ruff)


_STAGE_LOOP = """        for index in range(self.num_stages):
            x = getattr(self, f"layer{index + 1}")(x)
"""


def _scriptable(chunk: str, num_stages: int) -> str:
    """The backbone with its stages called by name (``x = self.layer1(x)``...): TorchScript
    refuses ``getattr`` with a computed name, and the exported depth is fixed anyway."""
    if _STAGE_LOOP not in chunk:
        return chunk
    calls = "".join(f"        x = self.layer{i + 1}(x)\n" for i in range(num_stages))
    return chunk.replace(_STAGE_LOOP, calls)


def _generated_code(spec: ArchSpec, table: dict[str, str], strided: list[str]) -> str:
    backbone = spec.info
    planes = tuple(s.planes for s in stage_shapes(backbone, spec.width))
    stem = backbone.scaled(backbone.stem, spec.width)
    spec_dict = _plain(spec.to_dict())
    entries = ", ".join(f"{name!r}: {cls}" for name, cls in table.items())
    lines = [f"BLOCKS: dict[str, type[nn.Module]] = {{{entries}}}"]
    lines.append('"""The attention blocks this architecture uses, by registry name."""\n')
    if strided:
        lines.append(f"STRIDED = frozenset({{{', '.join(repr(n) for n in strided)}}})")
        lines.append('"""Blocks that may replace a strided 3x3 conv, so take ``stride``."""\n')
    lines.append(f"SPEC: dict[str, Any] = {pprint.pformat(spec_dict, sort_dicts=False)}")
    lines.append('"""The canonical spec (``nas cost``, ``ArchSpec.from_dict`` read it)."""\n\n')
    lines.append(_FACTORY_STRIDED if strided else _FACTORY)
    lines.append(
        _BUILD.format(
            num_classes=spec.num_classes,
            in_channels=spec.in_channels,
            style=backbone.style,
            block=backbone.block,
            depths=tuple(backbone.depths),
            planes=planes,
            stem=stem,
        )
    )
    lines.append(_MAIN)
    return "\n".join(lines)


_FACTORY = '''def create_block(name: str, channels: int, **params: Any) -> nn.Module:
    """Build attention block ``name`` for ``channels`` channels: the factory ``ResNet`` calls."""
    return BLOCKS[name](channels, **params)

'''

_FACTORY_STRIDED = '''def create_block(
    name: str, channels: int, *, stride: int = 1, **params: Any
) -> nn.Module:
    """Build attention block ``name`` for ``channels`` channels: the factory ``ResNet`` calls.

    ``stride`` is passed to the blocks that can replace the 3x3 conv, and only to them.
    """
    if name in STRIDED:
        return BLOCKS[name](channels, stride=stride, **params)
    assert stride == 1, f"{name} cannot stride"
    return BLOCKS[name](channels, **params)

'''

_BUILD = '''def build_model(
    num_classes: int = {num_classes}, in_channels: int = {in_channels}
) -> nn.Module:
    """The network of ``SPEC`` with fresh weights.

    ``(B, in_channels, H, W) -> (B, num_classes)`` logits; any H, W work (global pooling), the
    search measured ``SPEC["input_size"]``.
    """
    return ResNet(
        style={style!r},
        block={block!r},
        depths={depths!r},
        planes={planes!r},
        stem={stem!r},
        in_channels=in_channels,
        num_classes=num_classes,
        stages=SPEC["stages"],
        factory=create_block,
    )
'''


_MAIN = '''

def main() -> None:
    """``python model.py``: print what this file is, build it and run one random input."""
    print(__doc__)
    model = build_model().eval()
    size = SPEC["input_size"]
    x = torch.randn(1, SPEC["in_channels"], size, size)
    with torch.no_grad():
        y = model(x)
    params = sum(p.numel() for p in model.parameters())
    print(f"build_model(): {params:,} parameters, {tuple(x.shape)} -> {tuple(y.shape)}")


if __name__ == "__main__":
    main()
'''


def _check_structure(spec: ArchSpec, classes: Mapping[str, object]) -> None:
    """Every name in ``spec`` is a known identifier and every value a declared choice."""
    get_backbone(spec.backbone)
    assert len(spec.stages) == spec.info.num_stages, "one stage spec per stage"
    _plain(spec.to_dict())
    for stage in spec.stages:
        info = block_info(stage.block)
        assert stage.block in classes, f"block {stage.block!r} has no implementation"
        assert stage.position in POSITIONS and stage.blocks in SELECTORS, stage
        assert set(stage.params) <= set(info.param_index), stage
        for name, value in stage.params.items():
            problem = info.param_index[name].check(value)
            assert problem is None, f"{stage.block}.{name}: {problem}"


def _plain(value: Any) -> Any:
    """``value`` checked to hold only JSON types, so its ``repr`` is a safe literal."""
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value), "spec keys must be strings"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        assert math.isfinite(value), "spec numbers must be finite"
        return value
    assert isinstance(value, str | int | bool), f"unexpected spec value {value!r}"
    return value


def _docstring(spec: ArchSpec, origin: Origin, module_name: str, torchvision: bool) -> str:
    stages = [f"    stage {i + 1}: {stage.label()}" for i, stage in enumerate(spec.stages)]
    papers = [f"    {spec.backbone}: {BACKBONE_CITATION[0]},", f"        {BACKBONE_CITATION[1]}"]
    used = sorted({s.block for s in spec.stages} - {"none"})
    for block in used:
        info = block_info(block)
        papers += [f"    {block}: {info.citation},", f"        {info.paper_url}"]
    imports = ["Imports only torch and the standard library."]
    if torchvision:
        imports = ["Imports torch, the standard library and torchvision (a block here calls"]
        imports.append("``torchvision.ops``; install torchvision next to torch).")
    name = module_name if module_name.isidentifier() else "model"
    what = "with searched attention" if used else "without attention blocks"
    lines = [
        f"{spec.backbone} at width {spec.width:g} {what}, exported by ``nas export``.",
        "",
        *stages,
        "",
        "Origin:",
        *(f"    {line}" for line in origin.lines()),
        "",
        "Papers:",
        *papers,
        "",
        "Usage::",
        "",
        f"    from {name} import build_model",
        "",
        f"    model = build_model()  # num_classes={spec.num_classes}, "
        f"in_channels={spec.in_channels}",
        "",
        *imports,
        f"``python {name}.py`` prints this, builds the model and runs one random input.",
        "``torch.export.export(model, (x,), strict=False)`` traces the model.",
        "",
    ]
    return "\n".join(lines)


def _literal_docstring(value: str) -> str:
    """``value`` as a triple-quoted literal whose evaluation is exactly ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    escaped = "".join(c if c == "\n" or c.isprintable() else ascii(c)[1:-1] for c in escaped)
    assert not escaped.endswith('"'), "the docstring must not end in a quote"
    return f'"""{escaped}"""'


def _docstring_of(text: str) -> str | None:
    return ast.get_docstring(ast.parse(text), clean=False)


def _ruff_format(text: str) -> str | None:
    """``text`` formatted by ruff when ruff is installed, else ``None``."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    ruff = [str(find_ruff_bin())]
    options = ["--isolated", "--line-length", "100", "--stdin-filename", "model.py"]
    for step in (["check", "--select", "I", "--fix", "--exit-zero"], ["format"]):
        result = subprocess.run(
            ruff + step + options + ["-"], input=text, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            return None
        text = result.stdout
    return text
