"""The Pareto front of a study, read once: ``StudyFront.load(storage, study_name)``.

Every reader of a front (``nas search`` at its end, ``nas pareto``, ``nas export``, ``nas
confirm``) goes through this module, so they agree on the members, the knee and the order:

- **Members**: the COMPLETE trials not dominated over *every* objective of the study
  (:func:`nas.results.pareto.pareto_mask`). Trials that reuse the result of an equivalent spec
  (same ``spec_id``, or ``reused_from``) are listed once, under the lowest trial number; a
  spec trained at several proxy seeds (replicas) is one row with the mean of its runs
  (:mod:`nas.results.replicas`).
- **Columns**: the proxy's score (``val_accuracy``, or the metric a ranking signal records)
  and MACs are found by name in the study's metric names (else the names its stored config
  gives; objectives 0 and 1 only for a study that has neither), as docs/study-format.md
  defines: :func:`nas.objectives.columns`, the reading side of the order
  :class:`nas.objectives.ObjectiveVector` writes.
- **Ranking accuracy**: a member's proxy accuracy, or its confirmed accuracy (retrained at a
  higher fidelity by ``nas confirm``). ``rank_by="auto"`` ranks by confirmed values when the
  front has any, among the confirmed members; the knee is computed on that accuracy and MACs.
- **Order**: cheapest first (MACs, then accuracy, then trial number).
- **Noise** (docs/noise.md): with the study's noise records (``noise:proxy``,
  ``noise:confirm``: :mod:`nas.results.noise_record`) every member's accuracy is an estimate
  with its standard error, the members the proxy's noise cannot rule out join the front (the
  noise-aware front: :mod:`nas.results.front_noise`), and ``tied_with`` names the ranked members
  within noise of each. A study without records has the front it always had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from nas.objectives import MACS, ObjectiveVector, columns
from nas.results.member import FrontMember
from nas.results.noise_record import ACCURACY, NoiseRecord, Stage, records

if TYPE_CHECKING:
    from nas.results.noisy_front import NoisyFront

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from storage.queries import StudySummary, TrialRow

RankBy = Literal["auto", "proxy", "confirmed"]
CONFIRMED_PREFIX = "confirmed:"
"""Study user attributes ``confirmed:<trial>`` holding ``{"val_accuracy": float, ...}``."""
KEYS = ("spec_id", "macs", "params", "reference", "reused_from", "replica_of", "seed")
"""The trial user_attrs read for every trial; ``spec``, the large one, for members only."""


@dataclass(frozen=True)
class StudyFront:
    """A study's COMPLETE trials and its front (see the module docstring for the rules)."""

    summary: StudySummary
    metric_names: tuple[str, ...]
    complete: tuple[TrialRow, ...]
    members: tuple[FrontMember, ...]
    ranked_by: Literal["proxy", "confirmed"]
    accuracy_column: int
    macs_column: int
    noise: Mapping[Stage, NoiseRecord] = field(default_factory=dict)
    """The study's noise records by stage (empty: no measured noise)."""

    @classmethod
    def load(cls, storage: BaseStorage, study_name: str, *, rank_by: RankBy = "auto") -> StudyFront:
        """Read the front of ``study_name``; ``ValueError`` listing the studies if it is absent."""
        from storage.queries import study_summaries, trial_table

        rows = trial_table(storage, study_name, keys=KEYS)  # ValueError lists the studies
        summary = next(s for s in study_summaries(storage) if s.name == study_name)
        attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(study_name))
        front = cls.of(summary, rows, study_attrs=attrs, rank_by=rank_by)
        numbers = {m.number for m in front.members}
        specs = {r.number: r.spec for r in trial_table(storage, study_name, ["spec"], numbers)}
        members = tuple(replace(m, spec=specs.get(m.number)) for m in front.members)
        return replace(front, members=members)

    @classmethod
    def of(
        cls,
        summary: StudySummary,
        rows: Sequence[TrialRow],
        *,
        study_attrs: Mapping[str, Any] | None = None,
        rank_by: RankBy = "auto",
    ) -> StudyFront:
        """The front of ``rows`` (the study's trials) without reading storage."""
        import numpy as np

        from nas.results.front_noise import members_of, with_ties
        from nas.results.pareto import pareto_mask
        from nas.results.replicas import fold_replicas

        attrs = study_attrs or {}
        noise = records(attrs)
        names = objective_names(summary, attrs)
        accuracy, macs = _columns(summary, names)
        width = len(summary.directions)
        complete = [
            r for r in rows if r.state == "COMPLETE" and r.values and len(r.values) == width
        ]
        specs = fold_replicas(complete, accuracy)  # one row per replicated spec: its mean
        on_front: list[TrialRow] = []
        if specs:
            mask = pareto_mask(np.array([r.values for r in specs], dtype=float), summary.directions)
            on_front = [r for r, on in zip(specs, mask, strict=True) if on]
        merged = _merged(on_front)
        if summary.directions[accuracy] == "maximize" and summary.directions[macs] == "minimize":
            merged += _within_noise(specs, merged, names[accuracy], noise, accuracy, macs)
        members = members_of(
            merged, attrs, CONFIRMED_PREFIX, (accuracy, macs), names[accuracy], noise
        )
        ranked_by = _ranking(rank_by, members)
        members = _with_knee(
            members, ranked_by, summary.directions[accuracy], summary.directions[macs]
        )
        members.sort(key=lambda m: (m.macs, -m.accuracy(ranked_by), m.number))
        members = with_ties(members, _eligible(members, ranked_by), ranked_by)
        return cls(
            summary, names, tuple(complete), tuple(members), ranked_by, accuracy, macs, noise
        )

    @property
    def study(self) -> str:
        return self.summary.name

    @property
    def score_name(self) -> str:
        """The metric name of the proxy's score (``val_accuracy`` unless another signal)."""
        return self.metric_names[self.accuracy_column]

    @property
    def ranks_accuracy(self) -> bool:
        """Whether the front is ranked by accuracies: confirmed ones, or a proxy scored by
        validation accuracy (not by a training-loss signal such as ``neg_tail_loss``)."""
        return self.ranked_by == "confirmed" or self.score_name == ACCURACY

    @property
    def ranked_label(self) -> str:
        """What the front is ranked by, for messages: ``acc`` or the proxy's score name."""
        return "acc" if self.ranks_accuracy else self.score_name

    def __len__(self) -> int:
        return len(self.members)

    @property
    def knee(self) -> FrontMember | None:
        return next((m for m in self.members if m.knee), None)

    @property
    def ranked(self) -> list[FrontMember]:
        """The members choices rank (cheapest first): all, or the confirmed ones."""
        return _eligible(self.members, self.ranked_by)

    @property
    def measured(self) -> bool:
        """Whether the accuracies the front is ranked by carry a standard error."""
        from nas.results.front_noise import has_noise

        return has_noise(self.ranked, self.ranked_by)

    def noise_lines(self) -> list[str]:
        """What the study measured of its noise, one line per stage, or that it measured none."""
        from nas.results.front_noise import noise_lines

        return noise_lines(self.noise, self.members)

    def final_front(self) -> NoisyFront:
        """The noise-aware front of the ranked members: dominated only beyond noise, with ties."""
        from nas.results.front_noise import Z, as_members
        from nas.results.noisy_front import noisy_front

        return noisy_front(as_members(self.ranked, self.ranked_by), Z)

    def most_accurate_first(self) -> list[FrontMember]:
        return sorted(self.members, key=lambda m: (-m.accuracy(self.ranked_by), m.macs, m.number))

    def accuracy_of(self, row: TrialRow) -> float:
        """The proxy accuracy of any COMPLETE row (for plots and messages)."""
        assert row.values is not None, "only COMPLETE rows with values reach here"
        return float(row.values[self.accuracy_column])

    def macs_of(self, row: TrialRow) -> float:
        assert row.values is not None, "only COMPLETE rows with values reach here"
        return float(row.values[self.macs_column])

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "directions": list(self.summary.directions),
            "metric_names": list(self.metric_names),
            "n_trials": self.summary.n_trials,
            "n_complete": len(self.complete),
            "ranked_by": self.ranked_by,
            "noise": {stage: record.to_json() for stage, record in self.noise.items()},
            "measured_noise": self.measured,
            "noisy_front": [int(m.name) for m in self.final_front().members],
            "front": [m.to_dict(self.metric_names, self.ranked_by) for m in self.members],
        }


def objective_names(summary: StudySummary, study_attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The study's metric names, else those of its stored config, else ``objective_<i>``.

    A study without metric names predates ``[objectives] signal``: its score is
    ``val_accuracy``, in :class:`~nas.objectives.ObjectiveVector`'s order.
    """
    if summary.metric_names:
        return tuple(summary.metric_names)
    config = study_attrs.get("config")
    extra = config.get("objectives", {}).get("extra") if isinstance(config, dict) else None
    if isinstance(extra, list) and len(extra) + 2 == len(summary.directions):
        return ObjectiveVector(ACCURACY, tuple(map(str, extra))).names
    return tuple(f"objective_{i}" for i in range(len(summary.directions)))


def _columns(summary: StudySummary, names: tuple[str, ...]) -> tuple[int, int]:
    """Indices of the proxy's score and MACs among the objectives (:func:`nas.objectives.columns`:
    by name, 0 and 1 for unnamed ones); ``ValueError`` if the study has no score or no MACs.
    """
    found = columns(names)
    if len(summary.directions) < 2 or found is None:
        raise ValueError(
            f"study {summary.name!r} has objectives {', '.join(names) or 'none'}; a front needs "
            f"{ACCURACY} and {MACS} (docs/study-format.md)"
        )
    return found


def _merged(on_front: list[TrialRow]) -> list[TrialRow]:
    """One row per spec: the lowest-numbered; a reused result is never listed itself."""
    kept, seen = [], set()
    numbers = {r.number for r in on_front}
    for row in sorted(on_front, key=lambda r: r.number):
        if row.spec_id is not None and row.spec_id in seen:
            continue
        if row.user_attrs.get("reused_from") in numbers:
            continue
        kept.append(row)
        seen.add(row.spec_id)
    return kept


def _within_noise(
    complete: Sequence[TrialRow],
    merged: list[TrialRow],
    score_name: str,
    noise: Mapping[Stage, NoiseRecord],
    accuracy: int,
    macs: int,
) -> list[TrialRow]:
    """The trials the proxy's measured noise cannot rule out that ``merged`` leaves out."""
    from nas.results.front_noise import beyond_noise

    if "proxy" not in noise:
        return []
    numbers, ids = {m.number for m in merged}, {m.spec_id for m in merged} - {None}
    pool = [r for r in _merged(list(complete)) if r.number not in numbers and r.spec_id not in ids]
    extra = beyond_noise([*merged, *pool], numbers, score_name, noise, accuracy, macs)
    return [r for r in pool if r.number in extra]


def _ranking(rank_by: RankBy, members: list[FrontMember]) -> Literal["proxy", "confirmed"]:
    if rank_by not in ("auto", "proxy", "confirmed"):
        raise ValueError(f"rank by {rank_by!r}: use auto, proxy or confirmed")
    has_confirmed = any(m.confirmed_accuracy is not None for m in members)
    if rank_by == "confirmed" and members and not has_confirmed:
        raise ValueError("no front member has a confirmed accuracy yet; run nas confirm first")
    return "confirmed" if rank_by != "proxy" and has_confirmed else "proxy"


def _with_knee(
    members: list[FrontMember], ranked_by: str, accuracy_sense: str, macs_sense: str
) -> list[FrontMember]:
    """``members`` with the knee marked: among the confirmed ones when ranked by confirmed."""
    import numpy as np

    from nas.results.pareto import knee_index

    eligible = _eligible(members, ranked_by)
    if not eligible:
        return members
    pairs = np.array([[m.accuracy(ranked_by), m.macs] for m in eligible], dtype=float)
    knee = eligible[knee_index(pairs, [accuracy_sense, macs_sense])].number
    return [replace(m, knee=m.number == knee) for m in members]


def _eligible(members: Sequence[FrontMember], ranked_by: str) -> list[FrontMember]:
    return [m for m in members if ranked_by == "proxy" or m.confirmed_accuracy is not None]
