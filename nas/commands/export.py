"""``nas export``: one architecture of the front as a self-contained Python module::

    nas export --knee -o model.py                     # the knee of the default study's front
    nas export --best -o model.py                     # its most accurate (within 1 SE: cheapest)
    nas export --study S --max-macs 40e6 -o model.py  # the most accurate within 40 M MACs
    nas export --trial 12 --weights -o model.py       # also model.pt, the proxy's weights
    nas export --knee --attach -o model.py            # and attach it to the study (dashboard)
    nas export --spec spec.json -o model.py           # a hand-written spec, no storage
    nas export --knee --onnx model.onnx -o model.py   # also ONNX, checked in ONNX Runtime

See docs/export.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = "export"
HELP = "write a trial of the Pareto front (or a spec) as a self-contained PyTorch module"
ORDER = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.commands._io import add_storage_option, add_study_option

    parser.add_argument("-o", "--output", required=True, help="the module to write (model.py)")
    add_study_option(parser)
    add_storage_option(parser)
    parser.add_argument("--artifacts", help="artifact directory (default: beside a SQLite file)")
    pick = parser.add_mutually_exclusive_group(required=True)
    pick.add_argument("--spec", help="export this spec JSON file instead of a trial")
    pick.add_argument("--trial", type=int, help="this trial number (it must be on the front)")
    pick.add_argument(
        "--knee", action="store_true", help="the knee of the front, or the cheapest within 1 SE"
    )
    pick.add_argument(
        "--best", action="store_true", help="the most accurate, or the cheapest within 1 SE of it"
    )
    pick.add_argument("--max-macs", type=float, help="the most accurate front trial within X")
    pick.add_argument("--min-accuracy", type=float, help="the cheapest front trial reaching A")
    parser.add_argument("--num-classes", type=int, help="classes of build_model() (default: spec)")
    parser.add_argument("--in-channels", type=int, help="input channels (default: spec)")
    parser.add_argument(
        "--attach",
        action="store_true",
        help="also attach the module (and weights) to the study's artifacts, for the dashboard",
    )
    parser.add_argument(
        "--weights",
        action="store_true",
        help="also write the trained proxy weights beside the module and export the proxy scale",
    )
    parser.add_argument(
        "--onnx",
        help="also write the model as this ONNX file (with --weights: the trained weights), "
        "checked by onnx.checker and ONNX Runtime (pip install 'attention-nas[onnx]')",
    )


def run(args: argparse.Namespace) -> int:
    from nas.commands._io import check_output
    from nas.export import Origin, render_module
    from nas.export.command import recorded_command
    from nas.export.weights import scale_note

    output = check_output("--output", args.output)
    if output.suffix != ".py":
        raise ValueError(f"--output {args.output!r}: name a .py file, e.g. model.py")
    onnx = None if args.onnx is None else check_output("--onnx", args.onnx)
    if onnx is not None:
        from nas.export.formats import ONNX_INSTALL, ONNX_PACKAGES, onnx_available

        if onnx.suffix != ".onnx":
            raise ValueError(f"--onnx {args.onnx!r}: name a .onnx file, e.g. model.onnx")
        if not onnx_available():
            raise ValueError(f"--onnx needs {', '.join(ONNX_PACKAGES)}; {ONNX_INSTALL}")
    command = recorded_command(args)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if args.spec is not None:
        if args.weights or args.attach:
            raise ValueError("--weights and --attach need a study; drop them with --spec")
        from nas.commands._io import read_spec

        spec = _overridden(read_spec(args.spec), args)
        origin = Origin(date=now, command=command)
        weights = None
    else:
        spec, origin, weights = _from_study(args, output, now, command)
    origin = _costed(origin, spec)
    rendered = render_module(spec, origin, module_name=output.stem)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rendered.text)
    print(f"wrote {output} ({spec.backbone}, {scale_note(spec)})")
    if origin.choice is not None:
        print(f"chose trial {origin.trial}: {origin.choice}")
    if weights is not None:
        print(f"wrote {weights}: proxy weights trained at {scale_note(spec)}")
    from nas.export.deploy import check_formats

    for line in check_formats(output, spec, weights, onnx):
        print(line)
    if args.attach:
        _attach(args, origin, [output] + ([weights] if weights is not None else []))
    if rendered.needs_torchvision:
        print("note: the module imports torchvision (a block uses torchvision.ops)")
    return 0


def _costed(origin: Any, spec: Any) -> Any:
    """``origin`` with the MACs and parameters of ``spec`` as exported (any scale)."""
    from dataclasses import replace

    from searchspace.cost import count_cost

    cost = count_cost(spec)
    return replace(origin, macs=cost.macs, params=cost.params, input_size=spec.input_size)


def _overridden(spec: Any, args: argparse.Namespace) -> Any:
    return spec.with_scale(num_classes=args.num_classes, in_channels=args.in_channels)


def _from_study(
    args: argparse.Namespace, output: Path, now: str, command: str
) -> tuple[Any, Any, Path | None]:
    from nas.commands._io import open_cli_storage
    from nas.export import Origin
    from nas.export.choose import Selection, pick
    from nas.results.front import StudyFront
    from searchspace.spec import ArchSpec
    from storage.queries import trial_table

    url, storage = open_cli_storage(args.storage, read_only=not args.attach)
    front = StudyFront.load(storage, args.study)
    how = Selection(args.trial, args.knee, args.max_macs, args.min_accuracy, args.best)
    given = None
    if args.trial is not None:
        found = trial_table(storage, args.study, numbers={args.trial})
        given = found[0] if found else None
    picked = pick(front, how, given)
    member = picked.member
    (row,) = trial_table(storage, args.study, numbers={member.number})
    if not isinstance(row.spec, dict):
        raise ValueError(f"trial {row.number} has no 'spec' user attribute to export")
    try:
        spec = ArchSpec.from_dict(row.spec)
    except ValueError as exc:
        raise ValueError(f"trial {row.number}: its stored spec is not valid here ({exc})") from None
    weights = None
    if args.weights:
        spec, weights = _weights(args, url, row, spec, output)
    else:
        spec = _overridden(spec, args)
    origin = Origin(
        date=now,
        command=command,
        study=args.study,
        trial=row.number,
        score=(front.score_name, member.estimate("proxy")),
        confirmed=member.confirmed_accuracy,
        weights=None if weights is None else f"{weights.name}, trained at the proxy scale",
        accuracy=_estimate_text(front, member),
        choice=picked.reason,
    )
    return spec, origin, weights


def _estimate_text(front: Any, member: Any) -> str:
    """``confirmed val_accuracy 0.795 ± 0.006 (n=2)``: the value ranked by, with its noise."""
    if front.ranked_by == "confirmed" and member.confirmed_estimate is not None:
        return f"confirmed val_accuracy {member.confirmed_estimate}"
    return f"proxy {front.score_name} {member.estimate('proxy')}"


def _weights(
    args: argparse.Namespace, url: str, row: Any, spec: Any, output: Path
) -> tuple[Any, Path]:
    from nas.export.weights import fetch_weights, proxy_spec, scale_note
    from storage import artifact_store

    artifact = row.user_attrs.get("checkpoint_artifact")
    if not isinstance(artifact, str):
        raise ValueError(
            f"trial {row.number} has no checkpoint_artifact (the search ran without an "
            "artifact store); export without --weights"
        )
    proxy = proxy_spec(spec, row.user_attrs.get("proxy"))
    for flag, value, trained in (
        ("--num-classes", args.num_classes, proxy.num_classes),
        ("--in-channels", args.in_channels, proxy.in_channels),
    ):
        if value is not None and value != trained:
            raise ValueError(
                f"{flag} {value}: the weights were trained with {trained} "
                f"({scale_note(proxy)}); drop {flag} or --weights"
            )
    destination = output.with_suffix(".pt")
    output.parent.mkdir(parents=True, exist_ok=True)
    fetch_weights(artifact_store(url, args.artifacts), artifact, proxy, destination)
    return proxy, destination


def _attach(args: argparse.Namespace, origin: Any, files: list[Path]) -> None:
    """Upload ``files`` as study artifacts named ``trial-N_<file>``.

    Study-level, because Optuna refuses to change a finished trial; the dashboard lists them
    on the study page, where they can be downloaded.
    """
    import shutil
    import tempfile

    import optuna
    from optuna.artifacts import upload_artifact

    from nas.commands._io import open_cli_storage
    from storage import artifact_store

    url, storage = open_cli_storage(args.storage)
    study = optuna.load_study(study_name=args.study, storage=storage)
    store = artifact_store(url, args.artifacts)
    with tempfile.TemporaryDirectory() as scratch:
        for file in files:
            named = Path(scratch) / f"trial-{origin.trial}_{file.name}"
            shutil.copyfile(file, named)
            upload_artifact(artifact_store=store, file_path=str(named), study_or_trial=study)
            print(f"attached {named.name} to study {args.study!r}")
