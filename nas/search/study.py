"""The Optuna side of a search: the study, its sampler and pruner, references and resume.

Nothing here starts Ray: :func:`prepare_study` leaves the study ready for
:class:`nas.search.searcher.StudySearcher` (directions and metric names set, the config stored once
when the study is created and checked on every resume, the reference designs queued once,
trials of an interrupted run failed and queued again). :class:`StudyHandle` is that study in a
form Ray Tune can pickle.

**References, once.** Any number of drivers may prepare one new study in the same second (issue
28: two drivers queued 14 references into a study of 8 trials). Each claims the study
attribute ``references_enqueued`` with a compare-and-set (:func:`storage.claims.claim_study_attr`,
one insert into a unique row): the one whose insert succeeds queues the designs, every other
queues nothing; their replicas (``[noise]``) are claimed the same way. The claim is written
before the designs are queued, so a driver killed in between (a few milliseconds) leaves a
study without references, never one with two of each. The references and their replicas
together take at most half of a study's ``trials`` (:func:`reference_share`), in the order of
:data:`nas.reference.REFERENCES`: the baseline ``no_attention`` always first, so at least half
of the budget is left to the sampler (the baseline and its replicas are queued even when a
tiny budget has no half to spare).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage

from nas.config import SearchConfig
from nas.reference import reference_params
from nas.search.ownership import Ownership
from nas.space import SearchSpace
from nas.wording import counted
from storage.claims import claim_study_attr
from storage.internals import storage_of, storage_url, study_id

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


CLAIM = "references_enqueued"
"""The study user attribute: the names of the reference designs queued (its claim)."""


def reference_share(trials: int, replicas: int = 0) -> int:
    """How many reference designs a budget of ``trials`` trials gets at most when
    ``replicas`` replica trials of them are queued too: both together take half the budget,
    and there is at least one reference (the baseline)."""
    return max(1, trials // 2 - replicas)


def replica_count(config: SearchConfig) -> int:
    """The replica trials ``[noise]`` asks for: ``seeds - 1`` for each of ``specs`` designs."""
    return config.noise.specs * (config.noise.seeds - 1) if config.noise.specs else 0


def proportionate(references: dict[str, Any], trials: int, replicas: int = 0) -> dict[str, Any]:
    """The first :func:`reference_share` of ``references`` (their order is kept)."""
    return dict(list(references.items())[: reference_share(trials, replicas)])


def queue_references(
    study: optuna.Study, space: SearchSpace, trials: int, replicas: int = 0
) -> list[str]:
    """Queue the reference designs of ``space`` a budget of ``trials`` gets beside
    ``replicas`` replica trials, if this driver is the first to claim the study's references;
    notes on what was done (for the command)."""
    drawable = reference_params(space)
    chosen = proportionate(drawable, trials, replicas)
    if not claim_study_attr(storage_of(study), study_id(study), CLAIM, list(chosen)):
        return []  # queued by an earlier run or by a driver racing this one
    for name, params in chosen.items():
        study.enqueue_trial(params, user_attrs={"reference": name})
    notes = [f"queued {counted(len(chosen), 'reference design')}: {', '.join(chosen)}"]
    left = [name for name in drawable if name not in chosen]
    if left:
        notes.append(
            f"left out {counted(len(left), 'reference design')} for a budget of "
            f"{counted(trials, 'trial')} (at most half are references and their replicas): "
            f"{', '.join(left)}"
        )
    return notes


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
    notes += queue_references(study, space, config.search.trials, replica_count(config))
    notes += queue_replicas(study, config)
    return study, notes


def queue_replicas(study: optuna.Study, config: SearchConfig) -> list[str]:
    """Queue, once, the first ``[noise] specs`` reference designs again at ``[proxy] seed`` + 1,
    ..., ``seeds`` - 1: replica trials whose spread measures the proxy's noise (docs/noise.md).

    Each carries ``replica_of`` (the queued reference's trial number) and ``seed``; queued
    after the references, they train early, and they count towards the trial budget.
    """
    if config.noise.specs == 0 or "replicas_enqueued" in study.user_attrs:
        return []
    names = list(study.user_attrs.get("references_enqueued") or [])[: config.noise.specs]
    queued = {}
    for trial in study.get_trials(deepcopy=False):
        name = trial.user_attrs.get("reference")
        if name in names and name not in queued and "replica_of" not in trial.user_attrs:
            queued[name] = trial
    if not names or any(name not in queued for name in names):
        return []  # not queued yet: the driver queuing the references queues these after them
    # Claimed like the references (one insert of a unique row): racing drivers queue them once.
    if not claim_study_attr(storage_of(study), study_id(study), "replicas_enqueued", names):
        return []
    seeds = [config.proxy.seed + k for k in range(1, config.noise.seeds)]
    for name in names:
        original = queued[name]
        for seed in seeds:
            attrs = {"replica_of": original.number, "seed": seed}
            params = original.system_attrs.get("fixed_params") or original.params
            study.enqueue_trial(dict(params), user_attrs=attrs)
    done = names
    return [
        f"queued {counted(len(done) * len(seeds), 'replica')} of {', '.join(done)} at proxy "
        f"seed{'s' if len(seeds) > 1 else ''} "
        f"{', '.join(map(str, seeds))} to measure the proxy's noise ([noise])"
    ]


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
    ownership = Ownership(storage_url(study), study.study_name)
    resumed = ownership.requeue_orphans(settle=True)
    if resumed:
        notes.append(
            f"resumed: {counted(resumed, 'interrupted trial')} marked FAIL and queued again"
        )
    others = len(ownership.running()[0])
    if others:
        study.sampler.reseed_rng()
        notes.append(
            f"{counted(others, 'trial is', 'trials are')} in training by another nas search on "
            "this study (heartbeat within the grace period): left to it; the two share the "
            "trial budget"
        )
    return notes


class StudyHandle:
    """The study of ``config`` in the storage at ``url``, opened once per process.

    Ray Tune pickles its search algorithm and scheduler when a ``Tuner`` is created
    (``tuner.pkl``). Both need the study, and an Optuna ``Study`` holds its sampler, which may
    hold a thread lock (Optuna 5.1's ``NSGAIISampler`` does: ``TypeError: cannot pickle
    '_thread.lock' object``, issue #10). So the searcher and the scheduler hold this handle
    instead: it pickles as the recipe (config, storage URL, proxy epochs) and opens the study
    again, sampler and pruner included, on first use after unpickling.

    Args:
        config: the search's resolved config (names the study, sampler and pruner).
        url: the storage URL (``storage.normalize_url`` form).
        epochs: the proxy's epochs, the pruner's ``max_resource``.
        study: the study already open in this process, if any.
    """

    def __init__(
        self,
        config: SearchConfig,
        url: str,
        epochs: int | None,
        study: optuna.Study | None = None,
    ) -> None:
        self.config, self.url, self.epochs = config, url, epochs
        self._study = study

    @property
    def study(self) -> optuna.Study:
        if self._study is None:
            self._study = self.open()
        return self._study

    def open(self) -> optuna.Study:
        """Load the (existing) study with the config's sampler and pruner."""
        from storage import open_storage

        return optuna.load_study(
            study_name=self.config.search.study,
            storage=open_storage(self.url),
            sampler=sampler_for(self.config),
            pruner=pruner_for(self.config, self.epochs),
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_study": None}


def sampler_for(config: SearchConfig) -> optuna.samplers.BaseSampler:
    """``[search] sampler`` seeded with ``[search] seed``, with the ``[sampler]`` options."""
    from nas.sampling import make_sampler

    return make_sampler(config.search.sampler, seed=config.search.seed, **config.sampler)


def pruner_for(config: SearchConfig, epochs: int | None) -> optuna.pruners.BasePruner:
    """``[search] pruner`` with the ``[pruner]`` options; ``max_resource`` defaults to ``epochs``.

    The proxy's epochs are the pruner's ``max_resource``: nothing is pruned at the last epoch,
    where stopping saves nothing and only drops a trained model from the front.
    """
    from nas.pruning import make_pruner

    options = dict(config.pruner)
    if epochs is not None:
        options.setdefault("max_resource", epochs)
    return make_pruner(config.search.pruner, **options)
