"""Queue a study's reference designs exactly once, and only as many as its budget can spare.

Any number of drivers may prepare one new study in the same second (issue 28: two drivers
queued 14 references into a study of 8 trials). Each driver claims the study attribute
``references_enqueued`` with a compare-and-set (:func:`storage.claims.claim_study_attr`, one
insert into a unique row): the one whose insert succeeds queues the designs, every other
queues nothing. The claim is written before the designs are queued, so a driver killed in
between (a few milliseconds) leaves a study without references, never one with two of each.

**Proportion.** A study of ``trials`` trials gets at most ``max(1, trials // 2)`` reference
designs, in the order of :data:`nas.reference.REFERENCES`, so the baseline ``no_attention``
(the plain ResNet the front is compared against) is always queued first and the sampler
keeps at least half of the budget.
"""

from __future__ import annotations

from typing import Any

import optuna

from nas.reference import reference_params
from nas.space import SearchSpace
from storage.claims import claim_study_attr
from storage.internals import storage_of, study_id

CLAIM = "references_enqueued"
"""The study user attribute: the names of the reference designs queued (its claim)."""


def reference_share(trials: int) -> int:
    """How many reference designs a budget of ``trials`` trials gets at most: half, at
    least one (the baseline)."""
    return max(1, trials // 2)


def proportionate(references: dict[str, Any], trials: int) -> dict[str, Any]:
    """The first :func:`reference_share` of ``references`` (their order is kept)."""
    return dict(list(references.items())[: reference_share(trials)])


def queue_references(study: optuna.Study, space: SearchSpace, trials: int) -> list[str]:
    """Queue the reference designs of ``space`` a budget of ``trials`` gets, if this driver
    is the first to claim the study's references; notes on what was done (for the command)."""
    drawable = reference_params(space)
    chosen = proportionate(drawable, trials)
    if not claim_study_attr(storage_of(study), study_id(study), CLAIM, list(chosen)):
        return []  # queued by an earlier run or by a driver racing this one
    for name, params in chosen.items():
        study.enqueue_trial(params, user_attrs={"reference": name})
    notes = [f"queued {len(chosen)} reference designs: {', '.join(chosen)}"]
    left = [name for name in drawable if name not in chosen]
    if left:
        notes.append(
            f"left out {len(left)} reference designs for a budget of {trials} trials (at most "
            f"half are references): {', '.join(left)}"
        )
    return notes
