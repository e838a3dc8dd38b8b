"""The noise side of :class:`nas.results.front.StudyFront`: estimates, ties, the noise-aware front.

:mod:`nas.results.front` decides who is on the front of the means; this module adds what the
study's noise records (:mod:`nas.results.noise_record`) say about it:

- every member's proxy score and confirmed accuracy as an
  :class:`~nas.results.uncertainty.Estimate` (the proxy's with ``noise:proxy``, one run per
  trial; the confirmation's from its seed runs with ``noise:confirm`` and the validation images
  of its budget);
- the trials a measured proxy noise cannot rule out (:func:`beyond_noise`): the members of the
  noise-aware front (:func:`nas.results.noisy_front.noisy_front`) that the front of the means
  leaves out, the candidates ``nas confirm`` also retrains;
- who is tied with whom among the members a front is ranked by (:func:`with_ties`).

A study without records gets estimates without standard errors (single runs) and only equal
means tie, so it opens with the front, knee and order it always had; its proxy accuracies are
printed to the digits their validation images support (:func:`nas.results.uncertainty.unmeasured`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from nas.results.member import FrontMember
from nas.results.noise_record import ACCURACY, NO_NOISE, NoiseRecord, Stage
from nas.results.noisy_front import Member, noisy_front
from nas.results.uncertainty import Estimate, estimate, tied, unmeasured

if TYPE_CHECKING:
    from storage.rows import TrialRow

Z = 1.96
"""Standard errors of a difference within which two members are declared tied (95 %)."""


@dataclass(frozen=True)
class ConfirmedRuns:
    """One ``confirmed:<trial>`` record as the front reads it: its seed runs and budget."""

    accuracies: tuple[float, ...]
    budget: dict[str, Any] | None


def confirmed_runs(study_attrs: Mapping[str, Any], prefix: str) -> dict[int, ConfirmedRuns]:
    """``trial -> ConfirmedRuns`` of every readable ``<prefix><trial>`` attribute.

    The seed runs are ``accuracies``; a record with only ``val_accuracy`` counts as one run.
    """
    out = {}
    for key, value in study_attrs.items():
        number = key[len(prefix) :]
        if not (key.startswith(prefix) and number.isdigit() and isinstance(value, dict)):
            continue
        mean = value.get("val_accuracy")
        runs = value.get("accuracies")
        if isinstance(runs, list) and runs and all(isinstance(a, int | float) for a in runs):
            accuracies = tuple(float(a) for a in runs)
        elif isinstance(mean, int | float):
            accuracies = (float(mean),)
        else:
            continue
        budget = value.get("budget")
        out[int(number)] = ConfirmedRuns(accuracies, budget if isinstance(budget, dict) else None)
    return out


def proxy_runs(row: TrialRow, score: int) -> list[float]:
    """A row's proxy score at each seed: one run, or a replicated spec's folded runs
    (:func:`nas.results.replicas.fold_replicas`)."""
    from nas.results.replicas import RUNS

    runs = row.user_attrs.get(RUNS)
    if isinstance(runs, list) and runs:
        return [float(v) for v in runs]
    assert row.values is not None, "only COMPLETE rows with values reach here"
    return [float(row.values[score])]


def proxy_estimate(
    values: Sequence[float], score_name: str, noise: Mapping[Stage, NoiseRecord]
) -> Estimate | None:
    """A spec's proxy score (the mean of ``values``, one per seed) with the proxy's measured
    noise; ``None`` without a record."""
    record = noise.get("proxy")
    if record is None or not record.applies_to(score_name):
        return None
    return record.estimate(values)


def proxy_value(
    values: Sequence[float],
    score_name: str,
    noise: Mapping[Stage, NoiseRecord],
    val_images: int | None = None,
) -> Estimate:
    """:func:`proxy_estimate`, or without a record the mean of ``values`` with no standard error
    and the validation bound of an accuracy scored on ``val_images`` images."""
    found = proxy_estimate(values, score_name, noise)
    if found is not None:
        return found
    images = val_images if score_name == ACCURACY else None
    return unmeasured(statistics.fmean(values), len(values), images)


def proxy_images(study_attrs: Mapping[str, Any]) -> int | None:
    """The validation images of the study's proxy: its stored config's ``[proxy] val_samples``
    (``None``: the whole validation split, or a study without a stored config)."""
    config = study_attrs.get("config")
    proxy = config.get("proxy") if isinstance(config, Mapping) else None
    images = proxy.get("val_samples") if isinstance(proxy, Mapping) else None
    return images if isinstance(images, int) and images > 0 else None


def confirmed_estimate(runs: ConfirmedRuns, noise: Mapping[Stage, NoiseRecord]) -> Estimate:
    """The mean of a member's confirmation runs with its standard error.

    With ``noise:confirm`` recorded at the same budget: the pooled noise and the validation
    term of the budget's images. Without one (a study confirmed before noise records): the
    runs' own spread when there are two or more, else no standard error (a single run).
    """
    record = confirm_record(runs, noise)
    if record is not None:
        return record.estimate(runs.accuracies, val_images=_images(runs))
    return own_estimate(runs)


def own_estimate(runs: ConfirmedRuns) -> Estimate:
    """The mean of a member's confirmation runs with the SE of those runs alone (their own
    spread, and the validation term of the budget's images; one run: no SE). ``nas confirm``
    prints it as each member finishes, when the pooled ``noise:confirm`` that
    :func:`confirmed_estimate` uses is not yet measured with this member's runs in it."""
    return estimate(runs.accuracies, val_images=_images(runs))


def _images(runs: ConfirmedRuns) -> int | None:
    images = (runs.budget or {}).get("val_samples")
    return images if isinstance(images, int) and images > 0 else None


def confirm_record(runs: ConfirmedRuns, noise: Mapping[Stage, NoiseRecord]) -> NoiseRecord | None:
    """The study's ``noise:confirm`` if it applies to ``runs`` (their metric and budget)."""
    record = noise.get("confirm")
    if record is not None and record.applies_to("val_accuracy", runs.budget):
        return record
    return None


def beyond_noise(
    rows: Sequence[TrialRow],
    on_front: set[int],
    score_name: str,
    noise: Mapping[Stage, NoiseRecord],
    accuracy: int,
    macs: int,
    z: float = Z,
) -> set[int]:
    """Trials of ``rows`` not dominated beyond the proxy's noise and not already ``on_front``:
    those a front of the means drops on differences the noise cannot show.
    """
    members = []
    for row in rows:
        assert row.values is not None, "only COMPLETE rows with values reach here"
        score = proxy_estimate(proxy_runs(row, accuracy), score_name, noise)
        if score is None:
            return set()
        members.append(Member(str(row.number), score, float(row.values[macs])))
    return {int(m.name) for m in noisy_front(members, z).members} - on_front


def noise_lines(noise: Mapping[Stage, NoiseRecord], members: Sequence[FrontMember]) -> list[str]:
    """One ``<stage> noise: ...`` line per record of a study's ``noise``, or :data:`NO_NOISE`;
    ``members`` (the front's) say how many runs each value averages and near which accuracy."""
    if not noise:
        return [NO_NOISE]
    lines = []
    for stage, record in noise.items():
        if stage == "confirm":
            scores = [m.confirmed_estimate for m in members if m.confirmed_estimate]
        else:
            scores = [m.estimate("proxy") for m in members]
        runs = min((e.n for e in scores if e is not None), default=1)
        at = statistics.fmean(e.mean for e in scores if e is not None) if scores else None
        lines.append(record.summary(stage, runs=runs, accuracy=at if at and 0 <= at <= 1 else None))
    return lines


def with_ties(
    members: Sequence[FrontMember], ranked: Sequence[FrontMember], ranked_by: str, z: float = Z
) -> list[FrontMember]:
    """``members`` with ``tied_with`` set: the ``ranked`` members within ``z`` SEs of each."""
    numbers = {m.number for m in ranked}
    out = []
    for a in members:
        if a.number not in numbers:
            out.append(a)
            continue
        mine = a.estimate(ranked_by)
        ties = tuple(
            b.number
            for b in ranked
            if b.number != a.number and tied(mine, b.estimate(ranked_by), z)
        )
        out.append(replace(a, tied_with=ties))
    return out


def as_members(members: Sequence[FrontMember], ranked_by: str) -> list[Member]:
    """``members`` as :class:`~nas.results.noisy_front.Member`, named by trial number."""
    return [Member(str(m.number), m.estimate(ranked_by), m.macs) for m in members]


def has_noise(members: Sequence[FrontMember], ranked_by: str) -> bool:
    """Whether any of ``members`` carries a standard error at the accuracy ranked by."""
    return any(m.estimate(ranked_by).se is not None for m in members)


def confirmed_means(study_attrs: Mapping[str, Any], prefix: str) -> dict[int, float]:
    """``trial -> val_accuracy`` of every ``<prefix><trial>`` record (the mean over its seeds)."""
    out = {}
    for key, value in study_attrs.items():
        if key.startswith(prefix) and isinstance(value, dict):
            accuracy = value.get("val_accuracy")
            if isinstance(accuracy, int | float) and key[len(prefix) :].isdigit():
                out[int(key[len(prefix) :])] = float(accuracy)
    return out


def members_of(
    rows: Sequence[TrialRow],
    study_attrs: Mapping[str, Any],
    prefix: str,
    columns: tuple[int, int],
    score_name: str,
    noise: Mapping[Stage, NoiseRecord],
) -> list[FrontMember]:
    """:func:`member_of` each of ``rows`` (``columns``: the score's and the MACs'), with the
    study's confirmations (``<prefix><trial>`` attributes) and its proxy's validation images."""
    accuracy, macs = columns
    confirmed = confirmed_means(study_attrs, prefix), confirmed_runs(study_attrs, prefix)
    images = proxy_images(study_attrs)
    return [member_of(r, accuracy, macs, confirmed, score_name, noise, images) for r in rows]


def member_of(
    row: TrialRow,
    accuracy: int,
    macs: int,
    confirmed: tuple[dict[int, float], dict[int, ConfirmedRuns]],
    score_name: str,
    noise: Mapping[Stage, NoiseRecord],
    val_images: int | None = None,
) -> FrontMember:
    """The :class:`FrontMember` of a COMPLETE ``row``, with its estimates (``val_images``: the
    proxy's, :func:`proxy_images`)."""
    assert row.values is not None, "only COMPLETE rows with values reach here"
    params = row.params
    means, runs = confirmed
    seeds = runs.get(row.number)
    return FrontMember(
        number=row.number,
        values=tuple(row.values),
        proxy_accuracy=float(row.values[accuracy]),
        macs=float(row.values[macs]),
        params=params if isinstance(params, int) else None,
        spec_id=row.spec_id,
        reference=row.reference,
        confirmed_accuracy=means.get(row.number),
        proxy_estimate=proxy_value(proxy_runs(row, accuracy), score_name, noise, val_images),
        confirmed_estimate=None
        if seeds is None or row.number not in means
        else confirmed_estimate(seeds, noise),
    )
