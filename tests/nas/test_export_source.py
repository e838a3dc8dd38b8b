"""The source collector behind ``nas export``: every block at once, renaming, imports."""

from __future__ import annotations

import ast

from nas.export.source import SourceCollector, _renamed
from searchspace.blocks import register, registered_blocks
from searchspace.resnet import ResNet


def test_every_block_and_the_backbone_fit_in_one_file() -> None:
    """No two copied definitions clash, whichever blocks a spec combines."""
    collector = SourceCollector(drop_decorators=(register,))
    collector.add(ResNet)
    names = {block: collector.add(cls) for block, cls in registered_blocks().items()}
    text = collector.imports_text() + "\n\n" + "\n\n".join(collector.chunks)
    tree = ast.parse(text)
    defined = [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    assert len(defined) == len(set(defined)), "a definition was copied twice"
    namespace: dict[str, object] = {}
    exec(compile(text, "all_blocks.py", "exec"), namespace)
    for block, name in names.items():
        assert namespace[name].__name__ == registered_blocks()[block].__name__  # type: ignore[attr-defined]
    assert "@register" not in text and "searchspace" not in collector.imports_text()
    roots = {(src or mod).split(".")[0] for src, mod, _ in collector.external}
    assert roots <= {"torch", "torchvision", "math", "collections", "typing"}, roots


def test_renaming_leaves_attributes_and_keywords_alone() -> None:
    text = "def f(x):\n    return helper(x, helper=1) + self.helper + helper\n"
    assert _renamed(text, {"helper": "helper_bam"}) == (
        "def f(x):\n    return helper_bam(x, helper=1) + self.helper + helper_bam\n"
    )
