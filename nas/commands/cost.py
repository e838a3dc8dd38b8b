"""``nas cost SPEC.json``: parameters and MACs of one architecture."""

from __future__ import annotations

import argparse
import json

from nas.commands._io import read_spec

NAME = "cost"
HELP = "print the MACs and parameters of a spec at its input size"
ORDER = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="spec JSON file ('-' for standard input)")
    parser.add_argument("--json", action="store_true", help='print {"macs": int, "params": int}')


def run(args: argparse.Namespace) -> int:
    spec = read_spec(args.spec)
    from searchspace.cost import count_cost

    cost = count_cost(spec)
    if args.json:
        print(json.dumps(cost.to_dict()))
    else:
        size = f"{spec.input_size}x{spec.input_size}"
        print(f"{spec.backbone} at {size}: {cost.macs / 1e6:,.2f} M MACs, {cost.params:,} params")
    return 0
