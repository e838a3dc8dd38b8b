"""``nas confirm``: retrain the front of an existing study at a higher fidelity (``nas.confirm``).

The study's stored config gives the proxy, data and resources, so a confirmation trains what
the search trained, only longer; ``--config`` takes ``[confirm]`` (and resources) from a file
instead, and the flags override both. Confirmed accuracies (every seed's run) and the noise they
measure (``noise:confirm``) are stored in the study (``docs/study-format.md``) and used by ``nas
pareto`` and ``nas export --knee``; each member is printed as ``mean ± SE (n=seeds)``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

NAME = "confirm"
HELP = "retrain a study's front with a longer budget and store the confirmed accuracies"
ORDER = 45


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.commands._io import add_storage_option, add_study_option

    add_study_option(parser)
    add_storage_option(parser)
    parser.add_argument("--config", help="take [confirm] and [resources] from this TOML file")
    parser.add_argument(
        "--scale", type=float, help="x the proxy's training images (default: the study's [confirm])"
    )
    parser.add_argument("--seeds", type=int, help="runs averaged per member (default: the study's)")
    parser.add_argument(
        "--members", type=int, help="confirm at most this many (default: the study's)"
    )
    parser.add_argument("--redo", action="store_true", help="retrain members confirmed before")


def run(args: argparse.Namespace) -> int:
    import optuna

    from nas.commands._io import open_cli_storage
    from nas.config import SearchConfig
    from nas.confirm import confirm_study
    from nas.confirm.store import estimate_of, proxy_score
    from nas.wording import counted

    _, storage = open_cli_storage(args.storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if args.study not in names:
        known = ", ".join(names) or "none"
        raise ValueError(f"study {args.study!r} is not in this storage; its studies: {known}")
    study = optuna.load_study(study_name=args.study, storage=storage)
    stored = study.user_attrs.get("config")
    if not isinstance(stored, dict):
        raise ValueError(f"study {args.study!r} has no stored config: was it made by nas search?")
    config = SearchConfig.from_dict(stored)
    if args.config:
        given = SearchConfig.from_toml(args.config)
        config = replace(config, confirm=given.confirm, resources=given.resources)
    overrides = {"scale": args.scale, "seeds": args.seeds, "members": args.members}
    raw = config.to_dict()  # through from_dict again, so the flags are checked like the file
    raw["confirm"].update({k: v for k, v in overrides.items() if v is not None})
    config = SearchConfig.from_dict(raw)
    done = confirm_study(config, study, stream=sys.stderr, redo=args.redo)
    if not done:
        print(f"study {args.study!r}: nothing confirmed (no COMPLETE trial on the front)")
        return 1
    print(f"study {args.study!r}: {counted(len(done), 'front member')} confirmed")
    for c in sorted(done, key=lambda c: -c.val_accuracy):
        value = estimate_of(study, c).format()
        print(f"  trial {c.number}: {value} (proxy {proxy_score(study, c)})")
    return 0
