"""Evidence for ``docs/pruning.md``: the same search without pruning, with median pruning on the
study's signal, and with the Pareto pruner, side by side in one storage.

Each arm (a pruner, optionally with ``[pruner]`` options: ``pareto:min_resource=2``) gets its
own study (``<prefix>-<arm>``) with the same seed, sampler, trial budget, proxy (the search's
default unless ``--epochs``/``--train-samples``/``--val-samples`` say otherwise) and data, and no
confirmation of the front, run one after the other through :func:`nas.search.run_search` so
each has the whole machine. Then the studies are read back and compared
(``bench/pruning_compare.py``) on:

- total epochs trained (one intermediate value per trained epoch, every trial state) and
  their ratio to the no-pruning arm's;
- seconds spent training (the trials' ``wall_time_s``) and wall time of each search: an
  epoch's cost differs between specs by up to 8x on a CPU, so an arm that proposes slower
  specs can train fewer epochs in more seconds;
- hypervolume of the final front (COMPLETE trials, the study's signal max / MACs min) against
  one reference point for every arm, and its ratio to the no-pruning one;
- which members of the no-pruning front each pruner killed: the trials with the same spec
  (``user_attrs["spec_id"]``) in its study that ended PRUNED. With the same seed, every arm
  proposes the same first trials (the reference designs, then NSGA-II's random first
  generation); later generations are bred from each arm's own results, so arms can diverge
  there, and a no-pruning front member that an arm never proposed is not counted as killed
  (it is listed as not proposed). ``--sampler random`` makes the comparison exact: a seeded
  random sampler proposes the same specs in the same order whatever the results, so every
  arm trains (or prunes) every no-pruning front member, and seconds compare like for like.

Run by hand (several minutes; needs the Fashion-MNIST IDX files)::

    .venv/bin/python bench/pruning.py --storage nas-results/bench-pruning.db --json out.json

``--summary-only`` re-reads existing studies without training anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pruning_compare import arm_summary, compare, markdown, reference_point

DEFAULT_PRUNERS = ("none", "median", "pareto")


def parse_arm(arm: str) -> tuple[str, dict[str, Any]]:
    """``"pareto:min_resource=2,reduction_factor=2"`` -> ``("pareto", {"min_resource": 2, ...})``.

    Option values are read as JSON when they parse (numbers, lists), else kept as strings.
    """
    pruner, _, rest = arm.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"arm {arm!r}: option {item!r} is not key=value")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return pruner, options


def study_name(prefix: str, arm: str) -> str:
    """``bench-pruning-pareto`` or, with options, ``bench-pruning-pareto-min_resource-2``."""
    return f"{prefix}-{arm}".replace(":", "-").replace(",", "-").replace("=", "-")


def bench_config(arm: str, args: argparse.Namespace) -> Any:
    """The ``SearchConfig`` of one arm: everything equal but the pruner and the study name."""
    from nas.config import SearchConfig

    pruner, options = parse_arm(arm)
    proxy = {
        key: value
        for key, value in (
            ("epochs", args.epochs),
            ("train_samples", args.train_samples),
            ("val_samples", args.val_samples),
        )
        if value is not None
    }
    data: dict[str, Any] = {"dataset": "fashion_mnist", "download": False}
    if args.data_dir:
        data["data_dir"] = args.data_dir
    return SearchConfig.from_dict(
        {
            "search": {
                "study": study_name(args.prefix, arm),
                "storage": args.storage,
                "trials": args.trials,
                "concurrency": args.concurrency,
                "seed": args.seed,
                "sampler": args.sampler,
                "pruner": pruner,
            },
            "pruner": options,
            "objectives": {"signal": args.signal} if args.signal else {},
            "data": data,
            "proxy": {**proxy, "seed": args.seed},
            "confirm": {"after_search": False},  # what pruning saves is proxy epochs
        }
    )


def run_arms(args: argparse.Namespace) -> None:
    """Run (or resume) every arm; store its wall time as a study user attribute."""
    import optuna

    from nas.search import run_search
    from storage import open_storage

    for arm in args.pruners:
        config = bench_config(arm, args)
        print(f"== {config.search.study}: pruner {arm}", file=sys.stderr, flush=True)
        result = run_search(config, stream=sys.stderr)
        if result.ran_trials:
            study = optuna.load_study(study_name=result.study, storage=open_storage(args.storage))
            study.set_user_attr("bench_wall_time_s", round(result.wall_time_s, 1))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="nas-results/bench-pruning.db")
    parser.add_argument("--prefix", default="bench-pruning")
    parser.add_argument(
        "--pruners",
        nargs="+",
        default=list(DEFAULT_PRUNERS),
        help="arms: a pruner name, optionally with options (pareto:min_resource=2); "
        "'none' is the baseline",
    )
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument(
        "--sampler",
        default="nsga2",
        help="every arm's sampler (default nsga2, the search's); 'random' proposes the same "
        "specs in every arm, so the front comparison is exact",
    )
    parser.add_argument(
        "--signal",
        default=None,
        help="[objectives] signal of every arm (default: the search's); what the pruners read "
        "and the front is drawn on",
    )
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the proxy's")
    parser.add_argument("--train-samples", type=int, default=None, help="default: the proxy's")
    parser.add_argument("--val-samples", type=int, default=None, help="default: the proxy's")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX directory")
    parser.add_argument(
        "--ref-value",
        type=float,
        default=None,
        help="first objective's reference (default: the worst COMPLETE trial's, less a tenth "
        "of the range)",
    )
    parser.add_argument("--ref-macs", type=float, default=None, help="default: 1.1 x max MACs")
    parser.add_argument("--summary-only", action="store_true", help="read, do not train")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import optuna

    from storage import normalize_url, open_storage

    args = parse_args(argv)
    args.storage = normalize_url(args.storage)
    if not args.summary_only:
        run_arms(args)
    storage = open_storage(args.storage)
    arms = {
        arm: arm_summary(
            optuna.load_study(study_name=study_name(args.prefix, arm), storage=storage)
        )
        for arm in args.pruners
    }
    report = compare(arms, reference_point(arms, args))
    report["signal"] = next(iter(arms.values()))["signal"] if arms else "value"
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
