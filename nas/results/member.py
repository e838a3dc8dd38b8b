"""One member of a study's front (:class:`FrontMember`), in the units tables and JSON show.

:class:`nas.results.front.StudyFront` builds them; ``nas pareto``, ``nas export`` and the table
and plot read them. A member's accuracy is its confirmed one when the front is ranked by
confirmed values (``nas confirm``), else its proxy's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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

    def accuracy(self, ranked_by: str) -> float:
        """The accuracy the front is ranked by (``"confirmed"`` falls back to the proxy's)."""
        if ranked_by == "confirmed" and self.confirmed_accuracy is not None:
            return self.confirmed_accuracy
        return self.proxy_accuracy

    def stages(self) -> list[str]:
        return stage_labels(self.spec)

    def to_dict(self, metric_names: Sequence[str], ranked_by: str) -> dict[str, Any]:
        return {
            "trial": self.number,
            "accuracy": self.accuracy(ranked_by),
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
