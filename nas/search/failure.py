"""What to tell the user when the search driver itself fails (not a trial: those are FAIL rows).

A sampler, storage or Ray error ends ``nas search`` with one line, exit status 1: what failed,
and what to do. :func:`describe` names the failing part by walking the exception's chain
(Ray Tune re-raises what a searcher or callback raised, sometimes wrapped in its own
``TuneError``); ``--verbose`` prints the whole traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

from nas.search.searcher import SamplerError, one_line

RESUME = "run the same command to continue (completed trials are kept)"


class SearchFailed(Exception):
    """The search stopped on a driver error; ``str()`` is the one line to print."""


def describe(exc: BaseException) -> tuple[str, str]:
    """``("<what failed>: <why>", "<what to do>")`` for an exception raised out of the driver."""
    chain = list(_chain(exc))
    for error in chain:
        if isinstance(error, SamplerError):
            advice = f"try another --sampler (--verbose shows the traceback), then {RESUME}"
            return str(error), advice
    for error in chain:
        if _is_storage_error(error):
            advice = f"check that the database is reachable and writable, then {RESUME}"
            return f"storage failed: {_line(error)}", advice
    for error in chain:
        if type(error).__module__.startswith("ray."):
            advice = f"check the cluster (ray status), then {RESUME}"
            return f"Ray failed: {_line(error)}", advice
    return f"the search driver failed: {_line(chain[-1])}", f"--verbose shows why; {RESUME}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_storage_error(error: BaseException) -> bool:
    import optuna
    import sqlalchemy.exc

    return isinstance(
        error, sqlalchemy.exc.SQLAlchemyError | optuna.exceptions.StorageInternalError
    )


def _line(error: BaseException) -> str:
    """``Type: message``; for SQLAlchemy's wrapped database errors, the database's own message
    (their last line is only a link to SQLAlchemy's error docs)."""
    import sqlalchemy.exc

    cause = error.orig if isinstance(error, sqlalchemy.exc.DBAPIError) else None
    return f"{type(error).__name__}: {one_line(str(cause if cause is not None else error))}"
