"""``nas dashboard``: optuna-dashboard on the search's storage.

The dashboard shows each study's objectives by their metric names (``val_accuracy``, ``macs``),
the Pareto-front plot, per-epoch curves (intermediate values), each trial's spec (user
attributes) and its artifacts (proxy checkpoints) for download. It only reads, and SQLite runs
in WAL mode (:mod:`storage`), so it can stay open while a search writes. What it serves is
kept light for large studies (:mod:`nas.commands._dashboard_app`).
"""

from __future__ import annotations

import argparse
import errno
import socket
from typing import Any

NAME = "dashboard"
HELP = "serve optuna-dashboard on the search's storage (Pareto front, curves, specs, checkpoints)"
ORDER = 70


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nas.commands._io import add_storage_option

    add_storage_option(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--artifacts", help="artifact directory (default: beside a SQLite file)")


def run(args: argparse.Namespace) -> int:
    import threading

    import bottle
    from optuna_dashboard import wsgi

    from nas.commands._dashboard_app import FinishedTrials, gzipped, study_pages
    from nas.commands._dashboard_page import StudyPages
    from nas.commands._io import open_cli_storage
    from storage import redact

    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port}: use a port between 1 and 65535")
    url, storage = open_cli_storage(args.storage, read_only=True)
    if not storage.get_all_studies():
        print(f"nas dashboard: no studies in {redact(url)} yet; they appear as `nas search` runs")
    store = _artifacts(url, args.artifacts)
    _check_port(args.host, args.port)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"optuna-dashboard for {redact(url)} at http://{shown}:{args.port}/dashboard/", flush=True
    )
    print("press Ctrl-C to stop", flush=True)
    view = FinishedTrials(storage)
    app = gzipped(wsgi(view, artifact_store=store))
    if StudyPages.serves(storage):
        pages = StudyPages(storage)
        app = study_pages(app, pages)
        # Every study's trials read and serialised while the user opens the browser.
        threading.Thread(target=pages.warm, name="dashboard-warm-up", daemon=True).start()
    bottle.run(app, host=args.host, port=args.port)  # what optuna_dashboard.run_server runs
    return 0


def _artifacts(url: str, given: str | None) -> Any:
    """The study's artifact store if its folder exists; the dashboard never creates one."""
    from optuna.artifacts import FileSystemArtifactStore

    from storage import artifacts_dir_for

    try:
        directory = artifacts_dir_for(url, given)
    except ValueError as exc:
        print(f"nas dashboard: no artifacts ({exc})")
        return None
    if not directory.is_dir():
        if given is not None:
            raise ValueError(f"--artifacts {given!r} is not a folder; drop it or fix the path")
        return None  # no trial has stored weights yet
    return FileSystemArtifactStore(str(directory))


def _check_port(host: str, port: int) -> None:
    """``ValueError`` now, rather than a traceback from the server, when it cannot listen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(f"port {port} on {host} is in use; pass --port N") from None
            raise ValueError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
