"""``nas search`` end to end: the search, then confirming its front (``[confirm] after_search``).

The two steps are joined here, above both, so that :mod:`nas.search` and :mod:`nas.confirm`
import neither the other: the search leaves a study, the confirmation reads its front.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from nas.config import SearchConfig
from nas.search import SearchResult, run_search
from nas.wording import counted


def search_then_confirm(
    config: SearchConfig,
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
    trainable: Callable[[dict[str, Any]], None] | None = None,
    opening: Sequence[str] = (),
) -> SearchResult:
    """:func:`nas.search.run_search`, then, unless it stopped early, retrain the front at
    ``[confirm]``'s budget; the result's front and wall time include the confirmation.
    ``opening``: lines printed once the storage is opened (``run_search``'s)."""
    stream = stream or sys.stdout
    result = run_search(
        config, verbose=verbose, stream=stream, trainable=trainable, opening=opening
    )
    if not config.confirm.after_search or result.interrupted:
        return result
    start = time.monotonic()
    _confirm(config, result, stream)
    result.wall_time_s += time.monotonic() - start
    return result


def _confirm(config: SearchConfig, result: SearchResult, stream: TextIO) -> None:
    """Retrain the front; a failure here loses no trial, so it is a note saying how to retry,
    not an error."""
    import optuna

    from nas.confirm import confirm_study
    from nas.results.front import StudyFront
    from nas.search.tuner import describe
    from storage import open_storage, resolve_url

    storage = open_storage(resolve_url(config.search.storage))
    study = optuna.load_study(study_name=config.search.study, storage=storage)

    def note(text: str) -> None:
        result.notes.append(text)
        print(f"nas search: {text}", file=stream, flush=True)

    try:
        done = confirm_study(config, study, stream=stream)
    except Exception as exc:
        what, _ = describe(exc)
        note(
            f"confirming the front failed ({what}); every trial is kept: "
            f"{retry_command(result.study, result.storage_url)} retries it"
        )
    else:
        if done:
            note(
                f"{counted(len(done), 'front member')} confirmed at {config.confirm.scale:g}x the "
                "proxy's training images (nas pareto ranks by them)"
            )
    result.front = StudyFront.load(storage, config.search.study)


def retry_command(study: str, storage_url: str) -> str:
    """``nas confirm`` of this search's study on its storage, as the user types it again
    (the storage without its password, as ``more: nas pareto ...`` shows it)."""
    from storage import storage_argument

    return f"nas confirm --study {shlex.quote(study)} --storage {storage_argument(storage_url)}"
