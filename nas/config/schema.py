"""The ``nas search`` config: every section, its fields, their defaults and checks, once.

Sections (every key is documented in ``docs/search.example.toml``)::

    [search]     study, storage, artifacts, trials, concurrency, seed, sampler, pruner
    [space]      backbone, width, stages, blocks, positions, selectors, [space.params.<block>]
    [data]       a ``workers.data.DataConfig``, checked when the file is read
    [proxy]      a ``workers.budget.ProxyBudget`` (its defaults are the search's), checked too
    [sampler]    options of the chosen sampler (``nas.sampling.SAMPLERS.options``)
    [pruner]     options of the chosen pruner (``nas.pruning.PRUNERS.options``)
    [objectives] signal (what the proxy is ranked by), extra ("params", "latency_ms")
    [resources]  cpus_per_trial, gpus_per_trial, max_trial_seconds, max_retries, reuse_actors,
                 storage_path
    [confirm]    after_search, scale, val_samples, seeds, members (retraining the front)
    [calibrate]  min_tau (the least calibrated fidelity a search accepts: ``nas calibrate``)
    [noise]      specs, seeds (replicas of reference designs: the proxy's own noise)

One frozen dataclass per own section, with :data:`FIELDS`, the check of each of its fields;
The CLI reads its defaults from here
(:data:`DEFAULT_STUDY`...). :class:`SearchConfig`, one of each section, and reading a file
into it are :mod:`nas.config.load`. This module imports no
torch or Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nas.config.checks import (
    Check,
    among,
    block_params,
    boolean,
    integer,
    list_of,
    number,
    number_or,
    one_of,
    optional,
    registered,
    string,
    width,
    writable_folder,
)
from nas.objectives import ObjectiveVector, extra_names
from nas.packing import AUTO
from nas.pruning.registry import DEFAULT_PRUNER
from nas.sampling.registry import DEFAULT_SAMPLER
from nas.study_name import check_study_name
from searchspace.backbones import BACKBONES
from searchspace.catalog import POSITIONS, Choice, block_names
from searchspace.spec import SELECTORS
from workers.signals import SIGNALS

DEFAULT_STUDY = "attention-nas"
"""The study every command reads and writes unless told another (``--study``)."""


@dataclass(frozen=True)
class SearchSection:
    """``[search]``: what study, where, how many trials, how they are proposed and pruned."""

    study: str = DEFAULT_STUDY
    storage: str | None = None
    artifacts: str | None = None
    trials: int = 12
    concurrency: int = 2
    seed: int | None = 0
    sampler: str = DEFAULT_SAMPLER
    pruner: str = DEFAULT_PRUNER


@dataclass(frozen=True)
class SpaceSection:
    """``[space]``: the backbone and which choices the sampler may make.

    ``stages``/``blocks``/``positions``/``selectors`` of ``None`` mean "all"; ``params`` maps
    a block to ``{param: [values]}``: any values the parameter accepts (the catalog's choices
    or, for open rules such as ``reduction``, other legal integers).
    """

    backbone: str = "resnet20"
    width: float = 1.0
    stages: tuple[int, ...] | None = None
    blocks: tuple[str, ...] | None = None
    positions: tuple[str, ...] | None = None
    selectors: tuple[str, ...] | None = None
    params: Mapping[str, Mapping[str, tuple[Choice, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectivesSection:
    """``[objectives]``: the proxy's ranking signal (max), MACs (min), then ``extra``.

    ``signal`` names a :data:`workers.signals.SIGNALS` entry: what a trial's first objective
    value and its per-epoch intermediate values (the pruner's input) are. The study's metric
    names record which signal each value is (``val_accuracy`` for ``best_val_accuracy``). The
    default, minus the training loss of the last third of the last epoch, ranks at the end of
    the run like the whole last epoch's loss, which ranked architectures most like longer
    training did of every signal measured (``docs/fidelity.md``), and at the pruner's first
    rung better, without the warm-up (``docs/pruning.md``). ``extra`` names
    :data:`nas.objectives.OBJECTIVES` entries (``params``, ``latency_ms``, or any registered).
    """

    extra: tuple[str, ...] = ()
    signal: str = "neg_tail_loss"

    @property
    def vector(self) -> ObjectiveVector:
        return ObjectiveVector.for_signal(self.signal, self.extra)

    @property
    def names(self) -> tuple[str, ...]:
        return self.vector.names

    @property
    def directions(self) -> tuple[str, ...]:
        return self.vector.directions


@dataclass(frozen=True)
class ResourcesSection:
    """``[resources]``: what one trial reserves; ``gpus_per_trial`` ``None`` = ``1/concurrency``
    of a GPU when one is visible, ``"auto"`` = sized from the trials' measured peak memory
    (:mod:`nas.packing`; :func:`nas.resources.trial_resources`).

    ``max_trial_seconds`` caps one trial's training time: checked after every epoch, a trial
    past it stops and is stored FAIL with the reason (a slow block on a small CPU, say SASA,
    cannot hold the whole search up). ``None``: no limit.

    ``max_retries`` is how many times a trial whose Ray worker died (killed, out of memory, its
    node lost) or raised is started again from its last epoch checkpoint, as the same trial
    (Tune's ``FailureConfig(max_failures=...)``), before it is stored FAIL with the reason.

    ``reuse_actors`` trains the next trial in the Ray worker process the last one finished in
    (Tune's ``reuse_actors``): no new process, no second import of torch, the dataset still in
    memory. Off, every trial starts a fresh process (``docs/performance.md`` has the ratio).

    ``storage_path`` is Ray Tune's working folder (trial checkpoints, which the driver reads
    the weights from): ``None`` = a temporary folder removed at the end; a folder or a URI
    (``s3://...``) is kept. With trials on several machines every node must reach it (a
    shared NFS folder, a bucket): ``docs/cluster.md``.
    """

    cpus_per_trial: float = 1.0
    gpus_per_trial: float | str | None = None
    max_trial_seconds: float | None = 900.0
    max_retries: int = 2
    reuse_actors: bool = True
    storage_path: str | None = None


@dataclass(frozen=True)
class ConfirmSection:
    """``[confirm]``: retrain the front at a higher fidelity than the proxy (``nas.confirm``).

    ``scale`` multiplies the proxy's training images (a larger subset; more epochs when the
    proxy already uses the whole split), ``val_samples`` is the confirmation's validation
    subset (``None``: the whole split), ``seeds`` the runs averaged per member (two or more
    also measure the confirmation's noise: docs/noise.md), ``members`` caps how many candidates
    are confirmed (the front members not dominated beyond the proxy's noise, the
    highest-accuracy ones first; ``None``: all).
    ``after_search`` confirms at the end of every ``nas search``; ``nas confirm`` does it for
    an existing study.
    """

    after_search: bool = True
    scale: float = 4.0
    val_samples: int | None = 5000
    seeds: int = 2
    members: int | None = 8


@dataclass(frozen=True)
class CalibrateSection:
    """``[calibrate]``: what ``nas search`` asks of a calibrated proxy (``nas calibrate``).

    ``min_tau``: when the study has a stored calibration of this proxy, a search whose
    ``[objectives] signal`` ranked with a Kendall tau below it against the reference is refused
    (``None``: any; a proxy without a calibration is never refused, only not reported).
    """

    min_tau: float | None = None


@dataclass(frozen=True)
class NoiseSection:
    """``[noise]``: measure the proxy's run-to-run noise on the search's own data and budget.

    The first ``specs`` reference designs are trained ``seeds`` times in all: once as queued,
    then again at ``[proxy] seed`` + 1, + 2, ... as replica trials, which count towards
    ``[search] trials`` (docs/noise.md). Their spread is stored as the study's ``noise:proxy``.
    ``specs = 0`` measures nothing: the proxy's values then carry no measured noise.
    """

    specs: int = 2
    seeds: int = 2


FIELDS: dict[type, dict[str, Check]] = {
    SearchSection: {
        "study": check_study_name,
        "storage": optional(string),
        "artifacts": optional(string),
        "trials": integer(1),
        "concurrency": integer(1),
        "seed": optional(integer(0)),
        "sampler": registered("sampler"),
        "pruner": registered("pruner"),
    },
    SpaceSection: {
        "backbone": among(lambda: tuple(BACKBONES)),
        "width": width,
        "stages": optional(list_of(integer(0))),
        "blocks": optional(list_of(among(block_names))),
        "positions": optional(list_of(one_of(POSITIONS))),
        "selectors": optional(list_of(one_of(SELECTORS))),
        "params": block_params,
    },
    ObjectivesSection: {
        "extra": list_of(among(extra_names), empty=True),
        "signal": among(lambda: tuple(SIGNALS)),
    },
    ResourcesSection: {
        "cpus_per_trial": number(0.0, 1024.0, open_low=True),
        "gpus_per_trial": optional(number_or(AUTO, 0.0, 64.0)),
        "max_trial_seconds": optional(number(0.0, 1e7, open_low=True)),
        "max_retries": integer(0),
        "reuse_actors": boolean,
        "storage_path": optional(writable_folder),
    },
    ConfirmSection: {
        "after_search": boolean,
        "scale": number(1.0, 1000.0),
        "val_samples": optional(integer(1)),
        "seeds": integer(1),
        "members": optional(integer(1)),
    },
    CalibrateSection: {
        "min_tau": optional(number(-1.0, 1.0)),
    },
    NoiseSection: {
        "specs": integer(0),
        "seeds": integer(2),
    },
}
"""The check of every field of each own section (``[data]``/``[proxy]`` check themselves)."""
