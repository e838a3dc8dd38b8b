"""``nas space``: the blocks of the search space, their parameters and insertion points."""

from __future__ import annotations

import argparse
import json

from searchspace.catalog import block_info, block_names

NAME = "space"
HELP = "list the attention blocks, their parameters and legal insertion points"
ORDER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the space as JSON")
    out.add_argument(
        "--markdown", action="store_true", help="print the catalog table of docs/blocks.md"
    )


def space_dict() -> dict[str, dict[str, object]]:
    """``{block: {"params": {name: [choices]}, "positions": [natural first]}}``."""
    return {
        name: {
            "params": {p.name: list(p.choices) for p in block_info(name).params},
            "positions": list(block_info(name).positions),
        }
        for name in block_names()
    }


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        from searchspace.docs import catalog_markdown

        print(catalog_markdown(), end="")
        return 0
    if args.json:
        print(json.dumps(space_dict(), indent=2))
        return 0
    for name in block_names():
        info = block_info(name)
        params = "  ".join(f"{p.name}={{{', '.join(map(str, p.choices))}}}" for p in info.params)
        late = "  [late stages only]" if info.late_only else ""
        print(f"{name:<18} {info.family:<16} at {', '.join(info.positions)}{late}")
        if params:
            print(f"{'':<18} {params}")
    return 0
