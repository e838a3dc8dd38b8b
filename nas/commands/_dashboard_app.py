"""What ``nas dashboard`` serves: optuna-dashboard, kept light for a study of 10,000 trials.

Stock optuna-dashboard re-reads every trial of a study from the database whenever its 10-second
cache lapses (a page open on a 10,000-trial SQLite study polls into a full re-read every few
seconds) and answers the study page with ~1 KB of JSON per parameter per trial, each
categorical's whole choice list repeated in every trial (docs/performance.md, "at 10,000
trials"). Two things change that without touching the study:

- :class:`FinishedTrials`, a view of the storage that reads a finished trial once: Optuna
  refuses to change a trial once it is COMPLETE, PRUNED or FAIL, so a refresh reads only the
  trials that are new or still running;
- :func:`gzipped`, which compresses the JSON answers for a client that accepts it (every
  browser does); the repeated choice lists make them compress tens of times;
- :func:`remembered`, which gives a study page again from memory while the study is unchanged.

Both only read and only serve: the dashboard's own writes (notes, artifacts) pass through.
"""

from __future__ import annotations

import copy
import gzip
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from storage.internals import study_id

if TYPE_CHECKING:
    from storage.internals import FrozenStudy  # what BaseStorage returns

_UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)
_ONE_BY_ONE = 200
"""Up to this many trials missing from the cache are read one by one; more: all at once."""


class FinishedTrials(BaseStorage):
    """``base`` with ``get_all_trials`` served from a cache of its finished trials.

    Every other method is the base's own. A study's trials are read whole on first use; later
    calls read the count, the unfinished trials, and each trial that is new since.
    """

    def __init__(self, base: BaseStorage) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._finished: dict[int, dict[int, FrozenTrial]] = {}
        self._served: dict[int, Any] = {}

    def state(self, study_id: int) -> Any:
        """What the study page shows, up to the finished trials' contents: equal while the
        study is unchanged (trial count, unfinished trials, study attributes)."""
        with self._lock:
            trials = _token(self._current(study_id))
        user = self._base.get_study_user_attrs(study_id)
        return trials, user, self._base.get_study_system_attrs(study_id)

    def served(self, study_id: int) -> Any:
        """:meth:`state`'s trial part for the trials ``get_all_trials`` last handed out whole
        (optuna-dashboard keeps those for up to 10 s, so they may be older than the study)."""
        with self._lock:
            return self._served.get(study_id)

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._current(study_id)
            if states is None and not deepcopy:  # how optuna-dashboard reads them
                self._served[study_id] = _token(trials)
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def _current(self, study_id: int) -> list[FrozenTrial]:
        """Every trial of the study by number: cached finished ones, fresh unfinished ones.

        Trial numbers run 0, 1, 2, ... in a study, so the new ones are found by asking for the
        numbers after the highest known until one is missing (``BaseStorage.get_n_trials``
        would read every trial).
        """
        base = self._base
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
        everything = base.get_all_trials(study_id, deepcopy=False)
        self._finished[study_id] = {t.number: t for t in everything if t.state.is_finished()}
        return everything

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            self._finished.pop(study_id, None)
        self._base.delete_study(study_id)

    # Everything else is the base storage's.
    def create_new_study(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.create_new_study(*args, **kwargs)

    def set_study_user_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_study_user_attr(*args, **kwargs)

    def set_study_system_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_study_system_attr(*args, **kwargs)

    def get_study_id_from_name(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_study_id_from_name(*args, **kwargs)

    def get_study_name_from_id(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_study_name_from_id(*args, **kwargs)

    def get_study_directions(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_study_directions(*args, **kwargs)

    def get_study_user_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_study_user_attrs(*args, **kwargs)

    def get_study_system_attrs(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_study_system_attrs(*args, **kwargs)

    def get_all_studies(self) -> list[FrozenStudy]:
        # By id, as optuna-dashboard lists an RDBStorage's studies (it sorts only those).
        return sorted(self._base.get_all_studies(), key=study_id)

    def create_new_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.create_new_trial(*args, **kwargs)

    def set_trial_param(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_trial_param(*args, **kwargs)

    def get_trial_id_from_study_id_trial_number(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_trial_id_from_study_id_trial_number(*args, **kwargs)

    def get_trial_number_from_id(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_trial_number_from_id(*args, **kwargs)

    def set_trial_state_values(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_trial_state_values(*args, **kwargs)

    def set_trial_intermediate_value(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_trial_intermediate_value(*args, **kwargs)

    def set_trial_user_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_trial_user_attr(*args, **kwargs)

    def set_trial_system_attr(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.set_trial_system_attr(*args, **kwargs)

    def get_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_trial(*args, **kwargs)

    def get_n_trials(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_n_trials(*args, **kwargs)

    def get_best_trial(self, *args: Any, **kwargs: Any) -> Any:
        return self._base.get_best_trial(*args, **kwargs)

    def remove_session(self) -> None:
        self._base.remove_session()


def _number(trial: FrozenTrial) -> int:
    return trial.number


def _token(trials: list[FrozenTrial]) -> Any:
    return len(trials), [t for t in trials if not t.state.is_finished()]


_STUDY_PAGE = re.compile(r"/api/studies/(\d+)/?")


def remembered(app: Wsgi, view: FinishedTrials, *, size: int = 8) -> Wsgi:
    """``app`` (already :func:`gzipped`) answering a repeated study page from memory.

    An answer is kept (the last ``size``, compressed) with the state of the study it showed
    (:meth:`FinishedTrials.state`) and given again while that state holds: reloading a
    finished 10,000-trial study costs a few queries instead of seconds of serialising.
    """
    answers: OrderedDict[tuple[str, str], tuple[Any, tuple[str, list[Any]], bytes]] = OrderedDict()

    def answering(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        page = _STUDY_PAGE.fullmatch(environ.get("PATH_INFO", ""))
        gzip_ok = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        if page is None or environ.get("REQUEST_METHOD") != "GET" or not gzip_ok:
            return app(environ, start_response)
        study_id, key = int(page[1]), (page[0], environ.get("QUERY_STRING", ""))
        try:
            now = view.state(study_id)
        except KeyError:  # no such study: the app says so
            return app(environ, start_response)
        kept = answers.get(key)
        if kept is not None and kept[0] == now:
            answers.move_to_end(key)
            start_response(*kept[1])
            return [kept[2]]
        held: list[Any] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            held[:] = [status, list(headers)]
            return start_response(status, headers, exc_info)

        body = b"".join(app(environ, hold))
        if held and held[0].startswith("200"):
            answers[key] = ((view.served(study_id), *now[1:]), (held[0], held[1]), body)
            while len(answers) > size:
                answers.popitem(last=False)
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
