"""One member of a study's front (:class:`FrontMember`), in the units tables and JSON show.

:class:`nas.results.front.StudyFront` builds them; ``nas pareto``, ``nas export`` and the table
and plot read them. A member's accuracy is its confirmed one when the front is ranked by
confirmed values (``nas confirm``), else its proxy's score. Each accuracy also comes as an
:class:`~nas.results.uncertainty.Estimate` (mean, standard error, runs) from the study's noise
records (:mod:`nas.results.noise_record`), and ``tied_with`` names the members it cannot be told
apart from at that noise (docs/noise.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nas.results.uncertainty import Estimate


@dataclass(frozen=True)
class FrontMember:
    """One trial of the front, in the units tables and JSON show."""

    number: int
    values: tuple[float, ...]
    """Every objective, in the study's order."""
    proxy_accuracy: float
    macs: float
    params: int | None
    spec_id: str | None
    reference: str | None
    confirmed_accuracy: float | None
    spec: dict[str, Any] | None = None
    knee: bool = False
    proxy_estimate: Estimate | None = None
    """The proxy's score with its noise (``None``: one run, no measured noise)."""
    confirmed_estimate: Estimate | None = None
    """The mean of the confirmation's seed runs with its standard error."""
    tied_with: tuple[int, ...] = ()
    """Trial numbers of the ranked members within noise of this one (cheapest first)."""

    def accuracy(self, ranked_by: str) -> float:
        """The accuracy the front is ranked by (``"confirmed"`` falls back to the proxy's)."""
        if ranked_by == "confirmed" and self.confirmed_accuracy is not None:
            return self.confirmed_accuracy
        return self.proxy_accuracy

    def estimate(self, ranked_by: str) -> Estimate:
        """:meth:`accuracy` with its standard error and the number of runs behind it."""
        if ranked_by == "confirmed" and self.confirmed_estimate is not None:
            return self.confirmed_estimate
        return self.proxy_estimate or Estimate(self.proxy_accuracy, None, 1)

    def stages(self) -> list[str]:
        return stage_labels(self.spec)

    def to_dict(self, metric_names: Sequence[str], ranked_by: str) -> dict[str, Any]:
        estimate = self.estimate(ranked_by)
        return {
            "trial": self.number,
            "accuracy": self.accuracy(ranked_by),
            "mean": estimate.mean,
            "se": estimate.se,
            "n": estimate.n,
            "tied_with": list(self.tied_with),
            "proxy_accuracy": self.proxy_accuracy,
            "confirmed_accuracy": self.confirmed_accuracy,
            "macs": int(self.macs),
            "params": self.params,
            "stages": self.stages(),
            "reference": self.reference,
            "knee": self.knee,
            "spec_id": self.spec_id,
            "values": dict(zip(metric_names, self.values, strict=True)),
            "spec": self.spec,
        }


def stage_labels(spec: Any) -> list[str]:
    """``StageSpec.label()`` per stage; the raw stage dicts if the spec no longer validates."""
    import json

    from searchspace.spec import ArchSpec

    if not isinstance(spec, dict):
        return []
    try:
        return [stage.label() for stage in ArchSpec.from_dict(spec).stages]
    except (ValueError, KeyError, TypeError):
        return [json.dumps(stage, sort_keys=True) for stage in spec.get("stages", [])]
