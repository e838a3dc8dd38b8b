"""What ``nas search`` says of a calibrated proxy, and when it refuses one.

A search whose study has a stored calibration (``<study>:calibration``) of the same data,
space and proxy prints the tau its ``[objectives] signal`` showed against the reference, one
line at the start; ``[calibrate] min_tau`` refuses a proxy calibrated below it, before any
trial is trained. A calibration of another proxy is not applied (the line says so): its
numbers measure something else.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from nas.calibrate.plan import HOW
from nas.calibrate.record import load_summary
from nas.calibrate.table import format_interval, format_number
from nas.config import SearchConfig


def setup_of(config: SearchConfig) -> dict[str, Any]:
    """What a calibration measured and a search must share to use it: data, space, proxy
    (without the seed, and without what changes how a run trains, not what it measures)."""
    proxy = {k: v for k, v in config.proxy.to_dict().items() if k not in (*HOW, "seed")}
    data = {k: v for k, v in config.data.to_dict().items() if k != "download"}
    return {"data": data, "space": asdict(config.space), "proxy": proxy}


def fidelity_note(config: SearchConfig, storage: Any) -> str | None:
    """The one line ``nas search`` prints about its proxy's calibration, ``None`` when the study
    has none and no ``min_tau`` is asked; ``ValueError`` when ``min_tau`` refuses the proxy.
    ``storage`` ``None``: there is none yet (a new SQLite file), so no calibration either."""
    study, floor = config.search.study, config.calibrate.min_tau
    summary = None if storage is None else load_summary(storage, study)
    if summary is None:
        if floor is None:
            return None
        return f"no calibration of this proxy stored: [calibrate] min_tau {floor} not checked"
    if summary.get("setup") != _jsonable(setup_of(config)):
        return (
            f"the stored calibration of study {study!r} measured another data, space or proxy: "
            "not applied (run `nas calibrate CONFIG` to measure this one)"
        )
    signal = config.objectives.signal
    row = summary["signals"].get("proxy", {}).get(signal)
    if row is None:
        return f"the stored calibration has no value for signal {signal!r}"
    tau = row["tau"]
    if floor is not None and not tau["value"] >= floor:
        raise ValueError(
            f"proxy refused: its {signal} ranked with tau {format_number(tau['value'])} against "
            f"the reference in `nas calibrate` ([calibrate] min_tau {floor}); make the proxy "
            "longer or pick a better [objectives] signal (`nas calibrate --show`)"
        )
    ceiling = summary["reference_agreement"]["tau_ceiling"]
    return (
        f"calibrated fidelity: {signal} tau {format_interval(tau)} against the reference over "
        f"{summary['specs']} specs (noise ceiling {format_number(ceiling)}; nas calibrate --show)"
    )


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as the storage gives it back (tuples become lists)."""
    import json

    loaded: dict[str, Any] = json.loads(json.dumps(value))
    return loaded
