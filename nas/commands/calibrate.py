"""``nas calibrate [CONFIG]``: measure how well the config's proxy ranks, before a search.

Trains ``--specs`` specs (the reference designs, then specs drawn from the space) at the proxy
budget and at the ``[confirm]`` budget, each at ``--seeds`` seeds, as Ray tasks on the search's
cluster, stores every run in the study ``<study>:calibration`` (so a rerun resumes) and prints
each ranking signal's rank agreement with the reference, with bootstrap intervals
(``nas.calibrate``, docs/calibrate.md). ``--show`` prints the stored table again.
"""

from __future__ import annotations

import argparse
import sys

NAME = "calibrate"
HELP = "measure how well the proxy ranks specs against longer training, on the config's data"
ORDER = 25
DEFAULT_SPECS = 16
"""Sized on the 2-core box (2026-12-06, shared): a default proxy run took 13.2 s and a
default reference run (the [confirm] budget, 4x the images) 55 s on one core, so 16 specs x 2
seeds x 2 budgets, two runs at a time, took 18 min 40 s (docs/calibrate.md)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="?", help="TOML config (docs/search.example.toml); default: built-in"
    )
    parser.add_argument(
        "--specs",
        type=int,
        default=DEFAULT_SPECS,
        help=f"specs to train, the reference designs first (default {DEFAULT_SPECS}: about 20 "
        "minutes on 2 CPU cores with the default proxy, where one proxy run takes ~10 s and "
        "one reference run ~55 s)",
    )
    parser.add_argument(
        "--seeds", type=int, default=2, help="seeds per spec and budget (default 2, at least 2)"
    )
    parser.add_argument(
        "--scale", type=float, help="reference: x the proxy's images (default: [confirm] scale)"
    )
    parser.add_argument("--study", help="the search study calibrated (default: the config's)")
    parser.add_argument("--storage", help="storage URL or .db path (default: the config's)")
    parser.add_argument(
        "--show", action="store_true", help="print the stored table again, training nothing"
    )
    parser.add_argument(
        "--proxies",
        nargs="+",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="candidate proxies to compare with the config's, each its [proxy] with keys "
        "replaced, e.g. 2x3000:epochs=2,train_samples=3000,val_samples=2000, or a named one "
        "(gpu: the larger proxy a search on CUDA may use, nas/proxies.py)",
    )
    parser.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)"
    )


def run(args: argparse.Namespace) -> int:
    from nas.calibrate import calibrate, format_summary, load_summary
    from nas.calibrate.plan import parse_candidates
    from nas.config import SearchConfig
    from storage import open_storage, resolve_url

    config = SearchConfig.from_toml(args.config) if args.config else SearchConfig()
    config = config.with_overrides(study=args.study, storage=args.storage)
    if args.scale is not None:
        raw = config.to_dict()  # through from_dict again, so the flag is checked like the file
        raw["confirm"]["scale"] = args.scale
        config = SearchConfig.from_dict(raw)
    if args.resamples < 100:
        raise ValueError(f"--resamples {args.resamples}: use at least 100 for a 95 % interval")
    study = config.search.study
    if args.show:
        summary = load_summary(open_storage(resolve_url(config.search.storage)), study)
        if summary is None:
            raise ValueError(
                f"no calibration of study {study!r} in this storage: run `nas calibrate CONFIG`"
            )
    else:
        summary = calibrate(
            config, specs=args.specs, seeds=args.seeds, stream=sys.stderr,
            resamples=args.resamples, candidates=parse_candidates(args.proxies),
        )  # fmt: skip
    print(format_summary(summary))
    return 0
