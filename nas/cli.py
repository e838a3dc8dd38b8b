"""The ``nas`` command line.

Each sub-command is one module of :mod:`nas.commands` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Every command's parser is built on every
start, so ``add_arguments`` reads only registries that import no torch and no Ray, and modules
keep those imports inside ``run``: ``nas --help`` and the commands that train nothing start in
a fraction of torch's import (tests/nas/test_cli_startup.py). A ``ValueError`` raised by a
command is a user error: it is printed as one line and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import nas.commands


def _commands() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"nas.commands.{m.name}")
        for m in pkgutil.iter_modules(nas.commands.__path__)
        if not m.name.startswith("_")
    ]
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nas",
        description="Neural architecture search over attention placement in ResNets.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _commands():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ValueError as exc:
        print(f"nas {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nas {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
