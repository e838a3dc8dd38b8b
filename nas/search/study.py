"""The Optuna side of a search: the study, its sampler and pruner, references and resume.

Nothing here starts Ray: :func:`prepare_study` leaves the study ready for
:class:`nas.search.searcher.StudySearcher` (directions and metric names set, the config stored once
when the study is created and checked on every resume, the reference designs queued once,
trials of an interrupted run failed and queued again).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.reference import reference_params
from nas.search.heartbeat import Ownership
from nas.search.ledger import INTERRUPTED
from nas.search.strategies import pruner_for, sampler_for
from nas.space import SearchSpace
from storage.internals import storage_url

NEW_STUDY = "to search with this config start a new study: --study NEW"
MEANING: dict[str, tuple[str, ...] | None] = {
    "space": ("backbone", "width"),
    "data": None,
    "proxy": None,
    "objectives": None,
}
"""What a trial's result means: ``section -> keys`` (``None``: every key but ``UNCHANGED``).
A resumed study must keep them; the rest of ``[space]`` is checked by its distributions."""
UNCHANGED = {"data": ("download",), "proxy": ("device", "compile")}
"""Keys that may change on resume: where files come from, where and how training runs."""

FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
"""States of ended trials; all count towards the budget but interrupted FAILs."""


def prepare_study(
    config: SearchConfig, storage: BaseStorage, space: SearchSpace, *, epochs: int | None = None
) -> tuple[optuna.Study, list[str]]:
    """Create or load the study, then queue references and interrupted trials.

    ``epochs`` (the proxy's) is the pruner's ``max_resource``: nothing is pruned at the end.
    Returns the study and human notes on what was done (for the command to print).
    """
    name = config.search.study
    directions = list(config.objectives.directions)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=directions,  # type: ignore[arg-type]
        sampler=sampler_for(config),
        pruner=pruner_for(config, epochs),
        load_if_exists=True,
    )
    stored = [d.name.lower() for d in study.directions]
    if stored != directions:
        raise ValueError(
            f"study {name!r} exists with {len(stored)} objectives ({', '.join(stored)}), this "
            f"config has {len(directions)}; keep [objectives] as they were, or {NEW_STUDY}"
        )
    check_same_meaning(study, config)
    _check_same_space(study, space)
    if study.metric_names is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(config.objectives.names))
    notes = _take_over(study)
    if not study.user_attrs.get("references_enqueued"):
        references = reference_params(space)
        for ref, params in references.items():
            study.enqueue_trial(params, user_attrs={"reference": ref})
        study.set_user_attr("references_enqueued", list(references))
        notes.append(f"queued {len(references)} reference designs: {', '.join(references)}")
    return study, notes


def check_same_meaning(study: optuna.Study, config: SearchConfig) -> None:
    """Store ``config`` in a new study (once: it is the study's); refuse a resumed study a
    config whose trials would mean something else, naming the first field that differs."""
    stored = study.user_attrs.get("config")
    current = config.to_dict()
    if not isinstance(stored, dict):
        study.set_user_attr("config", current)
        return
    for section, keys in MEANING.items():
        old, new = stored.get(section) or {}, current[section]
        names = keys or tuple(sorted((set(old) | set(new)) - set(UNCHANGED.get(section, ()))))
        for key in names:
            if old.get(key, "<unset>") != new.get(key, "<unset>"):
                raise ValueError(
                    f"study {study.study_name!r} was created with {section}.{key} = "
                    f"{_shown(old.get(key, '<unset>'))}, this config has "
                    f"{_shown(new.get(key, '<unset>'))}: its trials would not be comparable; "
                    f"to resume it keep {section}.{key} as it was, or {NEW_STUDY}"
                )


def _shown(value: Any) -> str:
    return json.dumps(value) if value != "<unset>" else "(not set)"


def _check_same_space(study: optuna.Study, space: SearchSpace) -> None:
    """Store the space's choices in a new study; refuse a resumed study another space."""
    drawn = space.distributions()
    stored = study.user_attrs.get("space")
    if stored is None:
        study.set_user_attr("space", drawn)
        return
    changed = sorted(k for k in set(stored) | set(drawn) if stored.get(k) != drawn.get(k))
    if changed:
        raise ValueError(
            f"study {study.study_name!r} was searched over another space ({changed[0]} "
            f"differs; [space] or [proxy] width changed); {NEW_STUDY}"
        )


def _take_over(study: optuna.Study) -> list[str]:
    """Queue again the trials of dead drivers; leave live drivers theirs, and draw other specs
    than they do (a sampler seeded like theirs would propose the same ones)."""
    notes: list[str] = []
    ownership = _ownership(study)
    resumed = ownership.requeue_orphans(settle=True)
    if resumed:
        notes.append(f"resumed: {resumed} interrupted trials marked FAIL and queued again")
    others = len(ownership.running()[0])
    if others:
        study.sampler.reseed_rng()
        notes.append(
            f"{others} trials are in training by another nas search on this study (heartbeat "
            "within the grace period): left to it; the two share the trial budget"
        )
    return notes


def fail_interrupted(study: optuna.Study) -> int:
    """Fail as interrupted, and queue again, every RUNNING trial whose driver is gone
    (:mod:`nas.search.heartbeat`); trials of live drivers are left alone. Waits a few seconds
    for trials no driver has claimed yet."""
    return _ownership(study).requeue_orphans(settle=True)


def _ownership(study: optuna.Study) -> Ownership:
    return Ownership(storage_url(study), study.study_name)


def finished_count(study: optuna.Study) -> int:
    """Trials towards the budget: every ended trial but those failed as interrupted (their
    parameters are queued again)."""
    return sum(1 for t in study.get_trials(deepcopy=False, states=FINISHED_STATES) if counts(t))


def counts(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether the ended ``trial`` counts towards the trial budget."""
    return trial.user_attrs.get("fail_reason") != INTERRUPTED
