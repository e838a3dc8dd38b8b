"""What ``nas dashboard`` serves: optuna-dashboard, kept light for a study of 10,000 trials.

Stock optuna-dashboard re-reads every trial of a study from the database whenever its 10-second
cache lapses (a page open on a 10,000-trial SQLite study polls into a full re-read every few
seconds) and answers the study page with ~1 KB of JSON per parameter per trial, each
categorical's whole choice list repeated in every trial (docs/performance.md, "at 10,000
trials"). Three things change that without touching the study:

- :func:`study_pages`, which answers the study page itself (:mod:`nas.commands._dashboard_page`:
  the same JSON, each finished trial read by SQL and serialised once);
- :class:`FinishedTrials`, a view of the storage that reads a finished trial once, for the
  other calls that read every trial (parameter importances, plots): Optuna refuses to change a
  trial once it is COMPLETE, PRUNED or FAIL, so a refresh reads only the trials that are new or
  still running;
- :func:`gzipped`, which compresses the JSON answers for a client that accepts it (every
  browser does); the repeated choice lists make them compress tens of times.

All only read and only serve: the dashboard's own writes (notes, artifacts) pass through.
"""

from __future__ import annotations

import copy
import gzip
import re
import threading
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from storage.internals import rdb_storage, study_id
from storage.trial_dump import frozen_trials
from storage.view import StorageView

if TYPE_CHECKING:
    from nas.commands._dashboard_page import StudyPages
    from storage.internals import FrozenStudy  # what BaseStorage returns

_UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)
_ONE_BY_ONE = 200
"""Up to this many trials missing from the cache are read one by one; more: all at once."""


class FinishedTrials(StorageView):
    """``base`` with ``get_all_trials`` served from a cache of its finished trials.

    Every other method is the base's own. A study's trials are read whole on first use; later
    calls read the count, the unfinished trials, and each trial that is new since.
    """

    def __init__(self, base: BaseStorage) -> None:
        super().__init__(base)
        self._lock = threading.Lock()
        self._finished: dict[int, dict[int, FrozenTrial]] = {}

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._current(study_id)
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def _current(self, study_id: int) -> list[FrozenTrial]:
        """Every trial of the study by number: cached finished ones, fresh unfinished ones.

        Trial numbers run 0, 1, 2, ... in a study, so the new ones are found by asking for the
        numbers after the highest known until one is missing (``BaseStorage.get_n_trials``
        would read every trial).
        """
        base = self.wrapped
        cache = self._finished.get(study_id)
        if cache is not None:
            running = {t.number: t for t in base.get_all_trials(study_id, False, _UNFINISHED)}
            number = fetched = 0
            while fetched < _ONE_BY_ONE:
                if number not in cache and number not in running:
                    try:
                        trial_id = base.get_trial_id_from_study_id_trial_number(study_id, number)
                    except KeyError:  # past the last trial
                        return sorted([*cache.values(), *running.values()], key=_number)
                    trial = base.get_trial(trial_id)
                    (cache if trial.state.is_finished() else running)[number] = trial
                    fetched += 1
                number += 1
        if rdb_storage(base) is None:
            everything = base.get_all_trials(study_id, deepcopy=False)
        else:  # by SQL: 1-2 s for 10,000 trials instead of 15-20 s through the ORM
            everything = frozen_trials(base, study_id)
        self._finished[study_id] = {t.number: t for t in everything if t.state.is_finished()}
        return everything

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            self._finished.pop(study_id, None)
        self.wrapped.delete_study(study_id)

    def get_all_studies(self) -> list[FrozenStudy]:
        # By id, as optuna-dashboard lists an RDBStorage's studies (it sorts only those).
        return sorted(self.wrapped.get_all_studies(), key=study_id)

    # Forwarded here, not by StorageView: its subclasses change what these would compute.
    def get_trial_number_from_id(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapped.get_trial_number_from_id(*args, **kwargs)

    def get_n_trials(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapped.get_n_trials(*args, **kwargs)

    def get_best_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapped.get_best_trial(*args, **kwargs)

    def remove_session(self) -> None:
        self.wrapped.remove_session()


def _number(trial: FrozenTrial) -> int:
    return trial.number


_STUDY_PAGE = re.compile(r"/api/studies/(\d+)/?")
_AFTER = re.compile(r"after=(\d+)")


def study_pages(app: Wsgi, pages: StudyPages) -> Wsgi:
    """``app`` with the study page (``GET /api/studies/<id>[?after=N]``) answered by ``pages``:
    the same JSON as optuna-dashboard's, from trials serialised once (gzip-compressed for a
    client that accepts it). Anything else, and any study ``pages`` leaves to optuna-dashboard
    (a preferential one, a missing one), goes to ``app``."""

    def answering(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        page = _STUDY_PAGE.fullmatch(environ.get("PATH_INFO", ""))
        query = environ.get("QUERY_STRING", "")
        after = _AFTER.fullmatch(query) if query else None
        if page is None or environ.get("REQUEST_METHOD") != "GET" or (query and not after):
            return app(environ, start_response)
        study_id, start = int(page[1]), int(after[1]) if after else 0
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body, headers = pages.gzipped(study_id, start), [("Content-Encoding", "gzip")]
        else:
            body, headers = pages.json(study_id, start), []
        if body is None:
            return app(environ, start_response)
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", [*headers, ("Vary", "Accept-Encoding")])
        return [body]

    return answering


Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def gzipped(app: Wsgi, *, level: int = 1) -> Wsgi:
    """``app`` with its JSON answers gzip-compressed for a client that accepts gzip.

    Level 1: the answers are repetitive enough that it compresses nearly as well as level 9
    at a fraction of the time, which a 2-core machine serving a 100 MB page notices.
    """

    def compressing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return app(environ, start_response)
        held: list[Any] = []

        def hold(status: str, headers: Sequence[tuple[str, str]], exc_info: Any = None) -> Any:
            held[:] = [status, list(headers), exc_info]
            return lambda data: None  # optuna-dashboard (bottle) never calls write()

        body = b"".join(app(environ, hold))
        status, headers, exc_info = held
        kind = next((v for k, v in headers if k.lower() == "content-type"), "")
        if not kind.startswith("application/json") or len(body) < 1024:
            start_response(status, headers, exc_info)
            return [body]
        packed = gzip.compress(body, compresslevel=level)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(packed)))]
        headers += [("Vary", "Accept-Encoding")]
        start_response(status, headers, exc_info)
        return [packed]

    return compressing
