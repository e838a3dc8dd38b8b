"""optuna-dashboard's study page (``GET /api/studies/<id>``) assembled from trials kept as JSON.

optuna-dashboard answers it by reading every trial through the ORM and serialising all of them
again (15-37 s for a 10,000-trial study on a shared 2-core machine, docs/performance.md).
:class:`StudyPages` answers the same request with the same JSON (its keys in another order:
``trials`` first) from:

- each finished trial's JSON, built once from its stored rows (:mod:`storage.trial_dump`,
  :mod:`nas.commands._dashboard_json`) and kept: a load reads the list of trial states, then
  only the trials that are new or unfinished, so every load shows the trials finished since;
- the study-level parts optuna-dashboard computes from all trials (search spaces, user
  attributes, the best trials), recomputed per load over the few distinct parameter sets;
- everything else through optuna-dashboard's own ``serialize_study_detail``;
- the compressed answer kept while the study is unchanged.

Preferential studies, and storages that are not a database, are left to optuna-dashboard.
"""

from __future__ import annotations

import gc
import json
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any, cast

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from nas.commands._dashboard_json import Serializer, TrialJson, trials_with_study_attrs
from nas.commands._dashboard_upstream import (
    PREFERENTIAL_KEY,
    get_pareto_front_trials,
    get_plotly_graph_objects,
    serialize_study_detail,
)
from storage import internals
from storage.trial_dump import stored_trials, trial_states

_GZIP = 31
"""``wbits`` for a gzip stream (header and CRC) from ``zlib.compressobj``."""
_ALL_AT_ONCE = 1000
"""More new or unfinished trials than this are read with the whole study's rows."""


class StudyPages:
    """The study pages of ``storage``'s studies, kept between loads."""

    def __init__(self, storage: BaseStorage, *, keep: int = 8, level: int = 1) -> None:
        self._db = storage
        self._serializer = Serializer()
        self._lock = threading.Lock()
        self._kept: dict[int, dict[int, TrialJson]] = {}
        self._answers: OrderedDict[tuple[int, int], tuple[Any, bytes]] = OrderedDict()
        self._keep, self._level = keep, level

    @staticmethod
    def serves(storage: BaseStorage) -> bool:
        """Whether its tables can be read directly (an ``RDBStorage``, or a view of one)."""
        return internals.rdb_storage(storage) is not None

    def gzipped(self, study_id: int, after: int = 0) -> bytes | None:
        """The page, gzip-compressed; None where optuna-dashboard must answer (no such study,
        a preferential study)."""
        with self._lock, _collector_paused():
            found = self._build(study_id, after)
            if found is None:
                return None
            state, make = found
            key = (study_id, after)
            kept = self._answers.get(key)
            if kept is not None and kept[0] == state:
                self._answers.move_to_end(key)
                return kept[1]
            packer = zlib.compressobj(self._level, zlib.DEFLATED, _GZIP)
            body = b"".join([*map(packer.compress, make()), packer.flush()])
            self._answers[key] = (state, body)
            while len(self._answers) > self._keep:
                self._answers.popitem(last=False)
            return body

    def json(self, study_id: int, after: int = 0) -> bytes | None:
        """The page as plain JSON (for a client that refuses gzip)."""
        with self._lock, _collector_paused():
            found = self._build(study_id, after)
            return None if found is None else b"".join(found[1]())

    def warm(self) -> None:
        """Read and serialise every study's trials now, before the first page is asked for.

        Run in a background thread at start: a failure here (the database busy or gone) is
        left for the page's own request to meet and report, not printed as a thread's crash.
        """
        try:
            for study in self._db.get_all_studies():
                self.gzipped(internals.study_id(study))
        except Exception:
            return

    def _build(self, study_id: int, after: int) -> tuple[Any, Any] | None:
        study = next(
            (s for s in self._db.get_all_studies() if internals.study_id(s) == study_id), None
        )
        if study is None or study.system_attrs.get(PREFERENTIAL_KEY, False):
            self._kept.pop(study_id, None)
            return None
        trials = self._trials(study_id)
        system_attrs = study.system_attrs
        state = (
            [(t.trial_id, t.state, t.datetime_start) for t in trials],
            [t.plain for t in trials if not t.state.is_finished()],
            study.user_attrs,
            system_attrs,
        )

        def make() -> Iterable[bytes]:
            noted = trials_with_study_attrs(system_attrs)

            def part(trial: TrialJson) -> bytes:
                if trial.trial_id in noted:
                    return trial.with_study_attrs(system_attrs)
                return trial.plain

            best = _best(self._db, study_id, study.directions, trials)
            plots = get_plotly_graph_objects(system_attrs)
            spaces = _properties(self._serializer, trials)
            header = serialize_study_detail(study, [], [], *spaces, plots, [])
            header.pop("trials")
            header.pop("best_trials")
            return chain(
                [b'{"trials": ['],
                _joined(map(part, trials[after:])),
                [b'], "best_trials": ['],
                _joined(map(part, best)),
                [b"], ", json.dumps(header).encode()[1:]],
            )

        return state, make

    def _trials(self, study_id: int) -> list[TrialJson]:
        """Every trial of the study by trial id: kept finished ones, the rest read now."""
        kept = self._kept.setdefault(study_id, {})
        states = trial_states(self._db, study_id)
        for trial_id, number, state, start in states:
            old = kept.get(trial_id)
            if old is not None and (old.number, old.state.name, old.datetime_start) != (
                number,
                state,
                start,
            ):
                del kept[trial_id]  # another trial under a reused id (a study deleted, made anew)
        missing = [row[0] for row in states if row[0] not in kept]
        ids = None if len(missing) > _ALL_AT_ONCE else missing
        fresh: dict[int, TrialJson] = {}
        if missing:
            for stored in stored_trials(self._db, study_id, ids):
                if stored.trial_id in kept:
                    continue
                trial = self._serializer.trial(study_id, stored)
                (kept if stored.finished else fresh)[stored.trial_id] = trial
        # A trial that appeared after the list of states was read waits for the next load.
        ids_now = [row[0] for row in states]
        return [kept.get(i) or fresh[i] for i in ids_now if i in kept or i in fresh]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a page is built: reading 10,000 trials creates a
    few hundred thousand tuples and strings (none in a cycle), and the collections they set off
    rescan everything kept so far, doubling the time of a first load."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _joined(parts: Iterable[bytes]) -> Iterable[bytes]:
    """``parts`` with ``, `` between them, without copying them into one string."""
    for i, part in enumerate(parts):
        if i:
            yield b", "
        yield part


def _best(
    storage: BaseStorage, study_id: int, directions: Sequence[Any], trials: list[TrialJson]
) -> list[TrialJson]:
    """The trials optuna-dashboard shows as best: the Pareto front (its own function), or the
    storage's best trial of a single objective."""
    if len(directions) > 1:
        return cast(list[TrialJson], get_pareto_front_trials(cast(Any, trials), directions))
    if not any(t.state == TrialState.COMPLETE for t in trials):
        return []
    best = internals.trial_id(storage.get_best_trial(study_id))
    return [t for t in trials if t.trial_id == best]


def _properties(
    serializer: Serializer, trials: list[TrialJson]
) -> tuple[list[Any], list[Any], list[tuple[str, bool]], bool]:
    """The intersection and union of the search spaces, the user attributes' union and whether
    any trial has intermediate values, as optuna-dashboard's ``_CachedExtraStudyProperty``
    computes them on a fresh server (last trial first, failed trials' parameters left out),
    over each distinct parameter set once. Categorical choices keep their first-seen order
    where optuna-dashboard's order is a Python set's (random per process)."""
    kinds: dict[str, bool] = {}
    signatures: dict[tuple[tuple[str, str], ...], None] = {}
    steps = False
    for trial in reversed(trials):
        for key, sortable in trial.attr_kinds:
            kinds[key] = kinds.get(key, sortable) and sortable
        if trial.state != TrialState.FAIL:
            steps = steps or trial.has_steps
            signatures.setdefault(trial.signature)
    union: list[tuple[str, BaseDistribution]] = []
    intersection: list[tuple[str, BaseDistribution]] | None = None
    for signature in signatures:
        space = [(name, serializer.distribution(stored)) for name, stored in signature]
        union = _merged(union, space, keep_unmatched=True)
        intersection = space if intersection is None else _merged(intersection, space)
    by_name = _by_name(intersection or []), _by_name(union)
    return (*by_name, list(kinds.items()), steps)


def _merged(
    space: list[tuple[str, BaseDistribution]],
    trial: Iterable[tuple[str, BaseDistribution]],
    *,
    keep_unmatched: bool = False,
) -> list[tuple[str, BaseDistribution]]:
    """``space`` merged with a trial's distributions: the union (``keep_unmatched``: entries
    the trial lacks stay, the trial's unmatched ones join) or the intersection."""
    result = list(space) if keep_unmatched else []
    for name, new in trial:
        match = next(
            (i for i, (n, old) in enumerate(space) if n == name and _same_kind(old, new)), None
        )
        if match is None:
            if keep_unmatched:
                result.append((name, new))
            continue
        merged = (name, _widened(space[match][1], new))
        if keep_unmatched:
            result[match] = merged  # ``result`` starts as a copy of ``space``: same positions
        else:
            result.append(merged)
    return result


def _same_kind(a: BaseDistribution, b: BaseDistribution) -> bool:
    if isinstance(a, CategoricalDistribution):
        return isinstance(b, CategoricalDistribution)
    for kind in (FloatDistribution, IntDistribution):
        if isinstance(a, kind) and isinstance(b, kind):
            return (a.step, a.log) == (b.step, b.log)
    return False


def _widened(old: BaseDistribution, new: BaseDistribution) -> BaseDistribution:
    if isinstance(old, CategoricalDistribution):
        assert isinstance(new, CategoricalDistribution)
        return CategoricalDistribution(list(dict.fromkeys([*old.choices, *new.choices])))
    if isinstance(old, IntDistribution) and isinstance(new, IntDistribution):
        low, high = min(new.low, old.low), max(new.high, old.high)
        return IntDistribution(low=low, high=high, step=new.step, log=new.log)
    assert isinstance(old, FloatDistribution) and isinstance(new, FloatDistribution)
    low_f, high_f = min(new.low, old.low), max(new.high, old.high)
    return FloatDistribution(low=low_f, high=high_f, step=new.step, log=new.log)


def _by_name(space: list[tuple[str, BaseDistribution]]) -> list[tuple[str, BaseDistribution]]:
    return sorted(space, key=lambda entry: entry[0])
