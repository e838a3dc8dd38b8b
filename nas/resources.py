"""What one trial (or one confirmation run) reserves on the Ray cluster.

Under ``[resources] gpus_per_trial = "auto"`` the fraction changes during a search. Ray Tune
reserves a trial's resources when it creates the trial, from the trial's config
(``tune.with_resources`` with a function of the config, :func:`trial_placement`); a running
trial keeps its share to the end. So the searcher puts the current fraction into each new
trial's config (:data:`GPU_KEY`, written by :class:`GpuShare`): trials created after a
measurement get the new share, those already running or waiting keep theirs. Until one trial
has been measured, the searcher proposes one trial at a time (:meth:`GpuShare.hold`): Tune
would otherwise create ``concurrency`` trials at the start fraction, one per card, and run
them one after another. A resumed search starts from the peaks its study stored
(``device_memory_mb`` of earlier trials) and the card of this machine, when it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nas.config import SearchConfig
from nas.packing import AUTO, START_FRACTION, Packing, pack

if TYPE_CHECKING:
    import optuna
    from ray.tune import PlacementGroupFactory

GPU_KEY = "gpus_per_trial"
"""The trial config key that carries a trial's own GPU fraction under ``gpus_per_trial =
"auto"`` (:class:`GpuShare` sets it, :func:`trial_placement` reads it)."""


def trial_resources(config: SearchConfig) -> dict[str, float]:
    """``{"cpu", "gpu"}`` per run; ``gpus_per_trial`` ``None`` means ``1/concurrency`` of a GPU
    and ``"auto"`` :data:`nas.packing.START_FRACTION` (one trial per card until one is
    measured), both only when one is visible and ``[proxy] device`` is not ``"cpu"`` (a CPU
    proxy holding a GPU share would keep other trials off a card it never uses), else none."""
    gpus = config.resources.gpus_per_trial
    if gpus is None or gpus == AUTO:
        import torch

        start = START_FRACTION if gpus == AUTO else 1.0 / config.search.concurrency
        on_cpu = config.proxy.device == "cpu"
        gpus = min(1.0, start) if torch.cuda.is_available() and not on_cpu else 0.0
    return {"cpu": config.resources.cpus_per_trial, "gpu": float(gpus)}


def remote_task(function: Callable[..., Any], resources: Mapping[str, float]) -> Any:
    """``function`` as a Ray remote function reserving ``resources`` (``{"cpu", "gpu"}`` per run,
    :func:`trial_resources`), for ``nas confirm`` and ``nas calibrate``.

    The reservation goes to ``ray.remote`` itself, not to ``.options()``: only there does a GPU
    share give each run a fresh worker process (Ray's ``max_calls = 1`` for GPU tasks,
    ray-project/ray#29624). A reused worker keeps its CUDA context, the memory its allocator
    cached and the GPU it saw first (CUDA reads ``CUDA_VISIBLE_DEVICES`` once), so on a node
    with several GPUs a later run would train on an earlier run's GPU, not the one Ray gave it.
    """
    import ray

    cpu, gpu = resources.get("cpu", 1.0), resources.get("gpu", 0.0)
    return ray.remote(num_cpus=cpu, num_gpus=gpu)(function)


def runs_at_once(resources: Mapping[str, float], cluster: Mapping[str, float]) -> int:
    """How many runs reserving ``resources`` (``{"cpu", "gpu"}``, :func:`trial_resources`) the
    ``cluster``'s resources (``ray.cluster_resources()``) hold at once; 0 when one cannot fit."""
    fits = [
        cluster.get(name, 0.0) / need
        for name, need in (("CPU", resources.get("cpu", 1.0)), ("GPU", resources.get("gpu", 0.0)))
        if need > 0
    ]
    return int(min(fits, default=1.0))


def trial_placement(config: dict[str, Any], *, cpu: float, gpu: float) -> PlacementGroupFactory:
    """What Ray Tune reserves for the trial whose config is ``config``: ``gpu`` unless the
    config carries its own fraction (:data:`GPU_KEY`), so a search can repack later trials
    (Tune calls this once per trial, when the trial is created)."""
    from ray.tune import PlacementGroupFactory

    return PlacementGroupFactory([{"CPU": cpu, "GPU": float(config.get(GPU_KEY, gpu))}])


MEMORY_KEY = "device_memory_mb"
"""A trial's peak GPU memory (MiB): its result key and the user attribute the study keeps."""
CARD_KEY = "device_total_mb"
"""The total memory of the card a trial trained on (MiB): a result key only, not stored."""


class GpuShare:
    """The GPU fraction new trials of this search get, repacked as trials are measured.

    Args:
        concurrency: ``[search] concurrency``, which bounds trials per card.
        card_mb: the card's total memory if known (the driver's own GPU), else learnt from
            the first result that reports one; the smallest card seen is the one sized for.
        peaks_mb: peaks already measured (a resumed study's).
    """

    def __init__(
        self, concurrency: int, *, card_mb: float | None = None, peaks_mb: Iterable[float] = ()
    ) -> None:
        self.concurrency, self.card_mb = concurrency, card_mb
        self.peaks_mb = list(peaks_mb)
        self.packing: Packing = pack(self.peaks_mb, card_mb, concurrency=concurrency)
        self.say: Callable[[str], None] | None = None

    @classmethod
    def of_study(cls, study: optuna.Study, concurrency: int) -> GpuShare:
        """Started from the peaks ``study``'s trials stored and this machine's first GPU."""
        import torch

        peaks = [
            float(t.user_attrs[MEMORY_KEY])
            for t in study.get_trials(deepcopy=False)
            if MEMORY_KEY in t.user_attrs
        ]
        card = None
        if torch.cuda.is_available():
            card = torch.cuda.get_device_properties(0).total_memory / 2**20
        return cls(concurrency, card_mb=card, peaks_mb=peaks)

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles the searcher; the printing function stays behind."""
        return {**self.__dict__, "say": None}

    def trial_config(self) -> dict[str, Any]:
        """The key a new trial's config carries: its GPU fraction."""
        return {GPU_KEY: self.packing.fraction}

    def hold(self, in_flight: int) -> bool:
        """Propose nothing now: no trial measured yet and one is already training."""
        return not self.packing.measured and in_flight > 0

    def observe(self, result: Mapping[str, Any]) -> None:
        """Take a finished trial's peak (and card); repack and say so when the share changes."""
        card = result.get(CARD_KEY)
        if card:
            self.card_mb = min(float(card), self.card_mb or float(card))
        if result.get(MEMORY_KEY):
            self.peaks_mb.append(float(result[MEMORY_KEY]))
        packing = pack(self.peaks_mb, self.card_mb, concurrency=self.concurrency)
        if packing.fraction != self.packing.fraction and self.say is not None:
            self.say(packing.line())
        self.packing = packing
