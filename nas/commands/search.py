"""``nas search [CONFIG.toml]``: run or resume the multi-objective attention-placement search."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import traceback
from dataclasses import asdict, replace
from typing import Any

NAME = "search"
HELP = "search attention placements (Optuna + Ray Tune), results in SQL storage"
ORDER = 30
STORAGE_HELP = "storage URL or .db path (default nas-results/nas.db)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="?", help="TOML config (docs/search.example.toml); default: built-in"
    )
    add_search_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_search_flags(parser: argparse.ArgumentParser, *, storage_help: str = STORAGE_HELP) -> None:
    """The flags of a search run: one per ``[search]`` key, ``--no-confirm``, ``--verbose``.

    The sampler and pruner names come from their registries (:mod:`nas.plugins`).
    """
    from nas.config import DEFAULT_STUDY
    from nas.plugins import PRUNERS, SAMPLERS

    parser.add_argument("--study", help=f"study name (default {DEFAULT_STUDY})")
    parser.add_argument("--storage", help=storage_help)
    parser.add_argument("--artifacts", help="directory for trained weights (non-SQLite storage)")
    parser.add_argument("--trials", type=int, help="finished trials the study should reach")
    parser.add_argument("--concurrency", type=int, help="trials trained at once")
    parser.add_argument("--seed", type=int, help="sampler seed")
    parser.add_argument("--sampler", help=f"Optuna sampler: {_listed(SAMPLERS)}")
    parser.add_argument("--pruner", help=f"pruner: {_listed(PRUNERS)}")
    parser.add_argument(
        "--no-confirm", action="store_true", help="skip retraining the front ([confirm])"
    )
    parser.add_argument("--verbose", action="store_true", help="show Ray Tune's own output")


def _listed(registry: Any) -> str:
    """``"nsga2 (default), gp, random, tpe"``."""
    return ", ".join(f"{n} (default)" if n == registry.default else n for n in registry.names())


def search_keys() -> tuple[str, ...]:
    """The ``[search]`` keys, each overridden by the flag of its name."""
    from nas.config import SearchConfig

    return tuple(asdict(SearchConfig().search))


def search_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``{key: flag value}`` for every ``[search]`` key (``None``: not given)."""
    return {name: getattr(args, name) for name in search_keys()}


def run(args: argparse.Namespace) -> int:
    from nas.config import SearchConfig
    from storage import resolve_url

    config = SearchConfig.from_toml(args.config) if args.config else SearchConfig()
    config = config.with_overrides(**search_overrides(args))
    if args.no_confirm:
        config = replace(config, confirm=replace(config.confirm, after_search=False))
    url = resolve_url(config.search.storage)
    log = sys.stderr if args.json else sys.stdout
    config, notes = _calibrated_proxy(config, url)  # printed after the study's line, which
    # the search prints once it has opened the storage: a refused config opens none

    from nas.pipeline import search_then_confirm
    from nas.search import SearchFailed

    try:
        result = search_then_confirm(config, verbose=args.verbose, stream=log, opening=notes)
    except SearchFailed as exc:
        if args.verbose:
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        print(f"nas search: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_as_json(result), indent=2))
    else:
        _print_front(result)
    if result.interrupted:
        return 130
    if not result.front.complete:
        print(f"nas search: error: {_nothing_completed(result)}", file=sys.stderr)
        return 1
    return 0


def _calibrated_proxy(config: Any, url: str) -> tuple[Any, list[str]]:
    """The proxy's calibrated fidelity (``nas calibrate``; ``ValueError`` when ``[calibrate]
    min_tau`` refuses it), then which proxy a search on CUDA trains (:mod:`nas.proxy_choice`):
    the config to search with and the lines to print. Nothing is created in a storage that
    does not exist."""
    from nas.calibrate.fidelity import fidelity_note
    from nas.calibrate.record import load_summary
    from nas.proxy_choice import choose_proxy, started_proxy, trials_on_cuda
    from storage import open_storage

    try:
        storage = open_storage(url, create=False)
    except ValueError:  # a new SQLite file: no calibration in it; the search reports the rest
        storage = None
    note = fidelity_note(config, storage)
    cuda = trials_on_cuda(config)
    study = config.search.study
    summary = load_summary(storage, study) if storage is not None and cuda else None
    started = started_proxy(storage, study) if storage is not None and cuda else None
    config, choice = choose_proxy(config, summary, cuda=cuda, started_with=started)
    return config, [line for line in (note, choice) if line is not None]


def _nothing_completed(result: Any) -> str:
    """One line: the study has no COMPLETE trial, and each distinct failure reason, counted."""
    failed = sum(result.failures.values())
    reasons = "; ".join(
        f"{n} x {reason if len(reason) <= 200 else reason[:197] + '...'}"
        for reason, n in result.failures.items()
    )
    why = f"{failed} FAIL: {reasons}" if failed else "none FAIL, none COMPLETE"
    return (
        f"study {result.study!r} has no COMPLETE trial ({why}); fix the cause, then run the "
        "same command to continue"
    )


def _as_json(result: Any) -> dict[str, Any]:
    return {
        "study": result.study,
        "storage": result.storage_url,
        "target": result.target,
        "finished": result.finished,
        "counts": result.counts,
        "front": result.front.to_json()["front"],
        "wall_time_s": round(result.wall_time_s, 1),
    }


def _print_front(result: Any) -> None:
    from nas.results.table import format_table, front_heading
    from storage import storage_argument

    counts = ", ".join(f"{n} {k.lower()}" for k, n in result.counts.items())
    wall = f"{result.wall_time_s:.0f} s"
    print(f"\n{result.finished}/{result.target} finished trials ({counts}) in {wall}")
    if not result.front.members:
        print("no COMPLETE trial yet, so no front")
    else:
        print(f"Pareto front: {front_heading(result.front)}")
        print(format_table(result.front))
        if result.front.noise:
            print("\n".join(result.front.noise_lines()))
    print(
        f"storage: {result.storage_url}\n"
        f"more: nas pareto --study {shlex.quote(result.study)} "
        f"--storage {storage_argument(result.storage_url)}"
    )
