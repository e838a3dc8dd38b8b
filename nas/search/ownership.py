"""Which ``nas search`` process owns a RUNNING trial, and queueing again the trials of dead ones.

Several drivers (``nas search`` processes) may run one study (``docs/cluster.md``, "Several
drivers and faults"). A driver owns the trials it has in flight: it writes its identity once to
each as the system attribute ``nas:driver`` (host, pid, a random token) and records Optuna's
heartbeat for it every :data:`HEARTBEAT_INTERVAL_S` (``RDBStorage.record_heartbeat``, the same
table ``Study.optimize``'s heartbeat thread writes). Another driver treats a RUNNING trial as
*orphaned*, fails it as interrupted and queues its parameters again, only when

1. its heartbeat is older than :data:`GRACE_PERIOD_S` (Optuna's ``grace_period``: the owner
   stopped beating, wherever it ran), or
2. its owner ran on this host and that process is gone (a killed driver's rerun on the same
   machine need not wait for the grace period), or
3. it has no owner (no heartbeat yet) and this driver has seen it unowned for more than
   :data:`SETTLE_S`, by its own monotonic clock from its first look at it (never by
   ``datetime_start``: that is the asking process's wall clock, which on another machine may
   be hours off ours). A live driver writes itself as the owner right after ``ask`` returns
   (:class:`~nas.search.searcher.StudySearcher`), before sampling, costing or the rest of its
   Tune step, so a trial unowned that long was left by a driver that died right after ``ask``
   (or by a version of ``nas`` without heartbeats). On a busy machine one Tune step can take
   longer than :data:`SETTLE_S`; owning a trial only at the end of that step let a driver
   starting beside a live one take the live one's new trial for a dead driver's.

Failing is a claim: the FAIL is written only while the trial is still RUNNING, so of two
drivers that find the same orphan one queues it again. Optuna's ``fail_stale_trials`` is not
used as is because it fails the trial before a callback could store the ``fail_reason`` the
trial budget reads (:func:`nas.search.ledger.finished_count`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState
from ray.tune import Callback

from nas.search.trials import fail_and_requeue
from storage.internals import stale_trial_ids, storage_of, study_id, trial_id

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

HEARTBEAT_INTERVAL_S = 5
"""Seconds between two heartbeats of a driver's trials (and two looks for orphans)."""
GRACE_PERIOD_S = 30
"""A trial whose heartbeat is this much older than the database's clock is orphaned."""
SETTLE_S = 5.0
"""An unowned RUNNING trial this driver has seen for less than this may still be claimed."""
OWNER_ATTR = "nas:driver"
"""Trial system attribute naming the driver that trains it: ``{"host", "pid", "token"}``."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Driver:
    """One ``nas search`` process: where it runs and a token no other process has."""

    host: str
    pid: int
    token: str

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "token": self.token}

    @classmethod
    def from_attr(cls, value: Any) -> Driver | None:
        if not isinstance(value, dict):
            return None
        return cls(str(value.get("host")), int(value.get("pid", -1)), str(value.get("token")))

    def gone(self) -> bool:
        """Whether this driver ran on this host and its process no longer exists."""
        return self.host == socket.gethostname() and not _alive(self.pid)


_THIS: dict[int, Driver] = {}


def this_driver() -> Driver:
    """The driver this process is (one token per process, also after a fork)."""
    pid = os.getpid()
    if pid not in _THIS:
        _THIS[pid] = Driver(socket.gethostname(), pid, uuid.uuid4().hex[:12])
    return _THIS[pid]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ownership:
    """The trials of study ``name`` at ``url`` as seen by this driver, through a storage of its
    own with heartbeats enabled (the search's storage stays without: Optuna warns when a
    heartbeat storage is used by ``ask``). Pickles as ``(url, name)``: a copy's ages of unowned
    trials start at its own first look (so its orphans come later, never earlier)."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self._study: optuna.Study | None = None
        self._lock = threading.Lock()  # the heartbeat thread and the searcher both look
        self._unowned: dict[int, float] = {}  # trial id -> time.monotonic() of the first look

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_study": None, "_lock": None, "_unowned": {}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    @property
    def study(self) -> optuna.Study:
        if self._study is None:
            from storage import open_storage

            with warnings.catch_warnings():  # heartbeat_interval is experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                beats = open_storage(
                    self.url, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S
                )
            self._study = optuna.load_study(study_name=self.name, storage=beats)
        return self._study

    @property
    def beats(self) -> RDBStorage:
        storage = storage_of(self.study)
        assert hasattr(storage, "record_heartbeat"), "open_storage returns an RDBStorage"
        return storage  # type: ignore[return-value]

    def running(
        self, *, unowned_after: float | None = None, mine: frozenset[int] = frozenset()
    ) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
        """The study's RUNNING trials as ``(live, orphaned)`` (rules in the module docstring);
        an unowned one is orphaned after ``unowned_after`` s; trial ids ``mine`` are live."""
        me = this_driver()
        unowned_after = SETTLE_S if unowned_after is None else unowned_after
        stale = set(stale_trial_ids(self.beats, study_id(self.study)))
        live, orphaned = [], []
        for trial, owner, age in self._look():
            tid = trial_id(trial)
            dead = owner.gone() if owner is not None else age > unowned_after  # rules 2 and 3
            if owner != me and tid not in mine and (tid in stale or dead):  # or rule 1
                orphaned.append(trial)
            else:
                live.append(trial)
        return live, orphaned

    def _look(self) -> list[tuple[FrozenTrial, Driver | None, float]]:
        """Each RUNNING trial, its owner and, unowned, for how many seconds this driver has
        seen it so (0 at the first look); the trials no longer unowned are forgotten."""
        with self._lock:  # one look at a time: an older look must not undo a newer one
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            now, seen, self._unowned = time.monotonic(), self._unowned, {}
            looked = []
            for trial in running:
                owner = Driver.from_attr(trial.system_attrs.get(OWNER_ATTR))
                if owner is None:
                    self._unowned[trial_id(trial)] = seen.get(trial_id(trial), now)
                looked.append((trial, owner, now - self._unowned.get(trial_id(trial), now)))
        return looked

    def requeue_orphans(
        self,
        *,
        settle: bool = False,
        unowned_after: float | None = None,
        mine: frozenset[int] = frozenset(),
    ) -> int:
        """Fail as interrupted and queue again every orphaned trial; how many this driver did.

        ``settle`` (at start): first wait until every unowned trial is claimed by its driver
        or unowned for :data:`SETTLE_S` since this driver first saw it (a dead driver's, however
        long ago it was left); at most about twice that, should live drivers keep asking.
        ``unowned_after`` and ``mine`` as in :meth:`running`.
        """
        if settle:
            deadline = time.monotonic() + 2 * SETTLE_S + 1.0
            while time.monotonic() < deadline and any(
                OWNER_ATTR not in t.system_attrs for t in self.running()[0]
            ):
                time.sleep(0.5)
        orphaned = self.running(unowned_after=unowned_after, mine=mine)[1]
        return sum(claim(self.study, trial) for trial in orphaned)

    def take_over(self, mine: frozenset[int]) -> list[FrozenTrial]:
        """What a running driver does: queue again the orphans (an unowned trial only after a
        whole grace period: one of ours may wait unowned while its spec is measured; never
        trial ids ``mine``), then return the live RUNNING trials."""
        self.requeue_orphans(unowned_after=GRACE_PERIOD_S, mine=mine)
        return self.running(unowned_after=GRACE_PERIOD_S, mine=mine)[0]

    def own(self, trial_ids: list[int]) -> None:
        """Write this driver as the owner of ``trial_ids`` and record their first heartbeat."""
        owner = this_driver().to_dict()
        for tid in trial_ids:
            try:
                self.beats.set_trial_system_attr(tid, OWNER_ATTR, owner)
            except UpdateFinishedTrialError:
                continue
            self.beats.record_heartbeat(tid)

    def beat(self, trial_ids: list[int]) -> None:
        for tid in trial_ids:
            self.beats.record_heartbeat(tid)


def claim(study: optuna.Study, frozen: FrozenTrial) -> bool:
    """FAIL the RUNNING ``frozen`` as interrupted and queue its parameters again; ``False`` when
    it finished first (its driver was alive, or another driver claimed it)."""
    # a trial from the queue may not have suggested its fixed params yet
    return fail_and_requeue(study, frozen, frozen.system_attrs.get("fixed_params") or frozen.params)


class DriverHeartbeat(Callback):
    """Ray Tune callback: owns this driver's trials in flight and beats for them from a thread.

    The searcher owns a trial as soon as it asks for it (rule 3 of the module docstring); this
    callback writes the same owner again at the end of that Tune step (so every trial in hand is
    owned, whatever put it there) and from then on beats for it: a daemon thread records
    heartbeats every :data:`HEARTBEAT_INTERVAL_S` and queues again the orphans of dead drivers
    (so a running driver takes over their trials).
    ``in_hand`` gives the Optuna trial ids of this driver's RUNNING trials
    (:meth:`nas.search.ledger.TrialLedger.in_hand`).
    """

    def __init__(self, in_hand: Callable[[], frozenset[int]], ownership: Ownership) -> None:
        self.in_hand, self.ownership = in_hand, ownership
        self._owned: set[int] = set()
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_owned": set(), "_lock": None, "_stop": None, "_thread": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def setup(self, *args: Any, **info: Any) -> None:
        self.start()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nas-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * HEARTBEAT_INTERVAL_S)
        self._thread = self._stop = None

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.claim_new()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self.stop()

    def claim_new(self) -> None:
        """Own every trial in flight not yet owned; forget those no longer in flight."""
        flying = self.in_hand()
        with self._lock:
            new = sorted(flying - self._owned)
            self._owned = set(flying)
        if new:
            self.ownership.own(new)

    def _run(self) -> None:
        stop = self._stop
        assert stop is not None, "started by start()"
        while not stop.wait(HEARTBEAT_INTERVAL_S):
            try:
                with self._lock:
                    owned = sorted(self._owned)
                self.ownership.beat(owned)
                self.ownership.take_over(self.in_hand())
            except Exception as exc:  # the database away for a while: beat again next time
                _log.warning("nas search: heartbeat failed (%s: %s)", type(exc).__name__, exc)
