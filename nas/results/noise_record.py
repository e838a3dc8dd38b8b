"""The noise a study measured of itself, per stage: one record, read and written here only.

A study reports values of two stages, and each has its own run-to-run noise: the **proxy** (the
short training every trial gets; measured by the search on a few specs trained at two seeds or
more) and the **confirmation** (the front retrained longer at ``[confirm] seeds``; measured from
those seed runs). Each is stored as a study user attribute, ``noise:proxy`` and
``noise:confirm`` (docs/study-format.md), holding a :class:`NoiseRecord`::

    {"sd": 0.0041, "df": 7, "specs": 7, "runs": 14, "metric": "val_accuracy",
     "val_images": 5000, "budget": {...} | null}

``sd`` is the pooled within-spec standard deviation of one run
(:func:`nas.results.uncertainty.pooled_noise`) over ``specs`` specs and ``runs`` runs, with
``df`` = runs - specs degrees of freedom; ``metric`` names the value it was measured on (the
proxy's score, ``val_accuracy`` or a signal such as ``neg_tail_loss``); ``val_images`` is the
number of validation images behind an accuracy (its exact binomial term), ``None`` for values
that are not accuracies; ``budget`` is the stage's ``ProxyBudget.to_dict()`` when known, so a
record is only applied to values trained at that budget.

A study without a record (every study made before issue 24) still opens: its values carry no
measured noise, and the readers say so (:data:`NO_NOISE`). The search side calls
:func:`measure` and :func:`save` with its own runs; nothing here trains or imports the steps
that do (``nas.results`` sits below them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from nas.results.uncertainty import Estimate, Noise, pooled_noise, quantile, resolvable_difference
from nas.wording import counted

Stage = Literal["proxy", "confirm"]
STAGES: tuple[Stage, ...] = ("proxy", "confirm")
PREFIX = "noise:"
"""Study user attributes ``noise:<stage>``."""
NO_NOISE = "values carry no measured noise (this study has no noise records)"
ACCURACY = "val_accuracy"
"""The metric name of validation accuracy, the score that is an accuracy."""


class UserAttrs(Protocol):
    """What :func:`save` needs of a study: ``optuna.Study`` is one."""

    def set_user_attr(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class NoiseRecord:
    """The run-to-run noise of one stage of a study (see the module docstring for the fields)."""

    sd: float
    df: int
    specs: int
    runs: int
    metric: str
    val_images: int | None = None
    budget: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sd) and self.sd >= 0):
            raise ValueError(f"a noise record's sd is a finite number >= 0, not {self.sd!r}")
        if self.df < 1 or self.specs < 1 or self.runs != self.df + self.specs:
            raise ValueError(
                f"a noise record needs df >= 1 and runs = df + specs, not df={self.df}, "
                f"specs={self.specs}, runs={self.runs}"
            )
        if self.val_images is not None and self.val_images < 1:
            raise ValueError(f"val_images must be at least 1, not {self.val_images}")

    @property
    def noise(self) -> Noise:
        return Noise(self.sd, self.df, self.specs, self.runs)

    def applies_to(self, metric: str, budget: Mapping[str, Any] | None = None) -> bool:
        """Whether values of ``metric`` trained at ``budget`` carry this noise.

        A record without a budget applies to every budget of its stage; a value without a known
        budget takes the stage's record.
        """
        if metric != self.metric:
            return False
        return self.budget is None or budget is None or dict(budget) == self.budget

    def estimate(self, values: Sequence[float], val_images: int | None = None) -> Estimate:
        """The mean of ``values`` (one per seed) with this noise and the validation term.

        ``val_images`` overrides the record's (a confirmation stores its own); neither is used
        for a metric that is not an accuracy.
        """
        from nas.results.uncertainty import estimate

        images = (val_images or self.val_images) if self.metric == ACCURACY else None
        return estimate(values, noise=self.noise, val_images=images)

    def summary(self, stage: str, *, runs: int = 1, accuracy: float | None = None) -> str:
        """``proxy noise: one run varies by +-X; differences under Y are not resolved ...``.

        X is the 95 % half-width of one run around its spec's mean (Student's t on ``df``);
        Y the smallest gap between two means of ``runs`` runs each that a tie test separates at
        the same t quantile,
        with the validation term at ``accuracy`` when the metric is an accuracy.
        """
        t = quantile(0.95, self.df)  # both on Student's t: a few runs measure the sd loosely
        spread = t * self.sd
        images = self.val_images if self.metric == ACCURACY and accuracy is not None else None
        gap = resolvable_difference(
            self.noise, runs=runs, accuracy=accuracy if images else None, val_images=images, z=t
        )
        means = "single runs" if runs == 1 else f"means of {runs} runs"
        return (
            f"{stage} noise: one run varies by ±{_rounded(spread)}; differences under "
            f"{_rounded(gap)} are not resolved at this budget ({self.metric}, {means}; sd "
            f"pooled over {counted(self.specs, 'spec')}, {counted(self.runs, 'run')})"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoiseRecord:
        """Read one record; ``ValueError`` naming what is wrong with a malformed one."""
        try:
            val_images = data.get("val_images")
            budget = data.get("budget")
            return cls(
                sd=float(data["sd"]),
                df=int(data["df"]),
                specs=int(data["specs"]),
                runs=int(data["runs"]),
                metric=str(data["metric"]),
                val_images=None if val_images is None else int(val_images),
                budget=dict(budget) if isinstance(budget, Mapping) else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed noise record {dict(data)!r}: {exc}") from None


def measure(
    groups: Sequence[Sequence[float]],
    *,
    metric: str,
    val_images: int | None = None,
    budget: Mapping[str, Any] | None = None,
) -> NoiseRecord:
    """The record of ``groups`` (one sequence of seed runs per spec), pooled within specs.

    ``ValueError`` when no spec has two runs: a stage trained at one seed measures nothing.
    """
    noise = pooled_noise(groups)
    return NoiseRecord(
        sd=noise.sd,
        df=noise.df,
        specs=noise.specs,
        runs=noise.runs,
        metric=metric,
        val_images=val_images,
        budget=None if budget is None else dict(budget),
    )


def records(study_attrs: Mapping[str, Any]) -> dict[Stage, NoiseRecord]:
    """``stage -> NoiseRecord`` of every stage ``study_attrs`` has a record of."""
    out: dict[Stage, NoiseRecord] = {}
    for stage in STAGES:
        value = study_attrs.get(PREFIX + stage)
        if isinstance(value, Mapping):
            out[stage] = NoiseRecord.from_json(value)
    return out


def save(study: UserAttrs, stage: Stage, record: NoiseRecord) -> None:
    """Store ``record`` as the study's ``noise:<stage>`` (replacing an earlier one)."""
    if stage not in STAGES:
        raise ValueError(f"noise stage {stage!r}: use one of {', '.join(STAGES)}")
    study.set_user_attr(PREFIX + stage, record.to_json())


def _rounded(value: float) -> str:
    """``value`` to two significant digits: a threshold rounded to one could be off by half."""
    places = Estimate(0.0, value, 1).decimals() + 1 if value > 0 else 4
    return f"{value:.{places}f}"
