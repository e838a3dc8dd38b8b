"""``OBJECTIVES``: what a search can optimise besides the proxy's score, one entry each.

A study's objectives are ``[signal, "macs", *extra]``: the proxy's ranking signal
(:mod:`workers.signals`, measured by training) and then measures of the architecture itself,
taken in the driver when a spec is drawn, before any training. That order is written down
once, :class:`ObjectiveVector` (the study's metric names and directions, the values told to
it), and read back once, :func:`columns` (where a study's score and MACs are). Each measure is
one entry here: a name (the study's metric name and the trial's user attribute), a direction and a
``measure(spec) -> float``. ``[objectives] extra`` accepts every registered name but
``macs``, which every study has; registering a new one is one decorated function::

    @register_objective("attended_stages", direction="minimize", about="stages with a block")
    def attended_stages(spec: ArchSpec) -> float:
        return float(sum(stage.block != "none" for stage in spec.stages))

``macs`` and ``params`` come from the exact cost model (:func:`searchspace.cost.count_cost`,
memoised per canonical spec); ``latency_ms`` runs the full-scale network on the driver's CPU.
This module imports no torch: the measures import it when called.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from searchspace.registry import Registry
from searchspace.spec import ArchSpec
from workers.signals import SIGNALS

Measure = Callable[[ArchSpec], float]
DIRECTIONS = ("maximize", "minimize")
MACS = "macs"
"""The one measured objective every study has, its second."""
SCORE_COLUMN, MACS_COLUMN = 0, 1
"""Where :class:`ObjectiveVector` puts the proxy's score and MACs."""
ALWAYS = (MACS, "params")
"""Measured for every trial and stored as user attributes, objectives or not (``nas pareto``
shows params; ``macs`` is every study's second objective)."""


@dataclass(frozen=True)
class Objective:
    """One registered objective: the study's metric ``name``, its ``direction``, its measure."""

    name: str
    direction: str
    measure: Measure
    about: str


OBJECTIVES: Registry[Objective] = Registry("objective", default="macs", sort=False)
"""Every objective by name, in registration order (``macs`` first)."""


def register_objective(name: str, *, direction: str, about: str) -> Callable[[Measure], Measure]:
    """Decorator: ``OBJECTIVES.add(name, Objective(name, direction, measure, about))``.

    The one registration of an objective; a duplicate name raises ``ValueError``, and
    ``OBJECTIVES.unregister(name)`` removes it again (for plug-ins and tests).
    """
    assert direction in DIRECTIONS, f"objective {name!r}: direction {direction!r}"

    def decorator(measure: Measure) -> Measure:
        OBJECTIVES.add(name, Objective(name, direction, measure, about))
        return measure

    return decorator


def extra_names() -> tuple[str, ...]:
    """What ``[objectives] extra`` may list: every registered objective but ``macs``."""
    return tuple(name for name in OBJECTIVES if name != MACS)


@dataclass(frozen=True)
class ObjectiveVector:
    """A study's objectives in their one order: ``[score, "macs", *extra]``.

    ``score`` is the metric name of the proxy's ranking signal (maximised: ``val_accuracy``,
    ``neg_tail_loss``...), ``extra`` names registered objectives. The search creates the study
    with :attr:`names` and :attr:`directions`, measures :attr:`measured` when a spec is drawn
    and tells :meth:`values`; :func:`columns` finds the score and MACs again in a stored study.
    """

    score: str
    extra: tuple[str, ...] = ()

    @classmethod
    def for_signal(cls, signal: str, extra: Iterable[str] = ()) -> ObjectiveVector:
        """The objectives of a search ranking by ``signal`` (a :data:`SIGNALS` key)."""
        return cls(SIGNALS[signal].metric_name, tuple(extra))

    @property
    def measured(self) -> tuple[str, ...]:
        """The objectives measured on the spec, in their column order: ``("macs", *extra)``."""
        return (MACS, *self.extra)

    @property
    def names(self) -> tuple[str, ...]:
        """The study's metric names."""
        return (self.score, *self.measured)

    @property
    def directions(self) -> tuple[str, ...]:
        """The study's directions: the score maximised, each measure its registered way."""
        return ("maximize", *(OBJECTIVES[name].direction for name in self.measured))

    def values(self, score: float, measured: Mapping[str, float]) -> list[float]:
        """What ``study.tell`` gets for a trial scored ``score`` with ``measured`` values."""
        return [score, *(measured[name] for name in self.measured)]


def columns(names: Sequence[str]) -> tuple[int, int] | None:
    """``(score, macs)``: the columns of the proxy's score and of MACs among a study's metric
    ``names``, found by name (a study written elsewhere may order them otherwise).

    The score is the first name a ranking signal records (:data:`SIGNALS`). A study naming
    neither is read in :class:`ObjectiveVector`'s order, ``(0, 1)``; ``None`` when only one of
    the two is named (it has no score or no MACs).
    """
    scores = {signal.metric_name for signal in SIGNALS.values()}
    score = next((i for i, name in enumerate(names) if name in scores), None)
    macs = names.index(MACS) if MACS in names else None
    if score is None and macs is None:
        return SCORE_COLUMN, MACS_COLUMN
    if score is None or macs is None:
        return None
    return score, macs


class MeasureFailed(RuntimeError):
    """An objective's measure raised on a spec (a broken block): that trial fails, not the
    search. ``str(exc)`` is one line naming the objective and the cause."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"measuring {name} failed: {type(cause).__name__}: {cause}")


def measure(spec: ArchSpec, names: Iterable[str]) -> dict[str, float]:
    """``{name: value}`` for :data:`ALWAYS` and ``names``, in that order, each measured once.

    Raises:
        MeasureFailed: a measure raised.
    """
    out: dict[str, float] = {}
    for name in dict.fromkeys((*ALWAYS, *names)):
        objective = OBJECTIVES.get(name)
        try:
            out[name] = float(objective.measure(spec))
        except Exception as exc:
            raise MeasureFailed(name, exc) from exc
    return out


@register_objective(MACS, direction="minimize", about="multiply-accumulates per image")
def macs(spec: ArchSpec) -> float:
    from searchspace.cost import count_cost

    return float(count_cost(spec).macs)


@register_objective("params", direction="minimize", about="trainable parameters")
def params(spec: ArchSpec) -> float:
    from searchspace.cost import count_cost

    return float(count_cost(spec).params)


@register_objective(
    "latency_ms", direction="minimize", about="median CPU latency of one image, batch 1"
)
def latency_ms(spec: ArchSpec) -> float:
    """Median of 10 timed forward passes (after 3 warm-up ones) of the full-scale network on
    the driver's CPU, batch 1, in milliseconds. Noisy on a busy host (``docs/search.md``)."""
    import torch

    from searchspace.build import build_model

    model = build_model(spec).eval()
    x = torch.randn(1, spec.in_channels, spec.input_size, spec.input_size)
    times = []
    with torch.no_grad():
        for i in range(13):
            begin = time.perf_counter()
            model(x)
            if i >= 3:
                times.append((time.perf_counter() - begin) * 1000.0)
    return sorted(times)[len(times) // 2]
