"""The calibration's table as ``nas calibrate`` prints it (and ``--show`` again), and its advice.

With ``--proxies`` the table has one block per candidate proxy and ends with a recommendation:
the proxy and signal with the highest tau against the reference, and the cheapest candidate
whose tau lies inside that one's interval (as good as this calibration can tell, for less),
each with a config snippet to paste.
"""

from __future__ import annotations

import math
from typing import Any

from nas.results import noise_record

SNIPPET_KEYS = ("epochs", "train_samples", "val_samples", "width", "input_size", "batch_size")
"""The ``[proxy]`` keys a snippet shows (the rest of a candidate is the config's proxy)."""


def best_signal(summary: dict[str, Any], proxy: str) -> tuple[str, dict[str, float]] | None:
    """``(signal, tau)`` of ``proxy``'s signal with the highest tau, ``None`` if none."""
    signals = summary["signals"].get(proxy) or {}
    if not signals:
        return None
    name = max(signals, key=lambda s: _finite(signals[s]["tau"]["value"]))
    return name, signals[name]["tau"]


def recommend(summary: dict[str, Any]) -> list[str]:
    """Lines naming the best (proxy, signal) and, when cheaper, one as good within noise."""
    cost = summary["seconds_per_run"]
    best = {p: b for p in summary["signals"] if (b := best_signal(summary, p)) is not None}
    if not best:
        return []
    top = max(best, key=lambda p: _finite(best[p][1]["value"]))
    signal, value = best[top]
    lines = [f"highest tau: {top} by {signal} ({format_interval(value)}, {cost[top]:.1f} s/run)"]
    low = value["low"]
    as_good = [p for p in best if math.isfinite(low) and best[p][1]["value"] >= low]
    cheapest = min(as_good, key=lambda p: cost[p], default=top)
    if len(best) > 1:
        lines.append(_snippet(summary, top, signal))
    if cheapest != top:
        name, cheap = best[cheapest]
        lines += [
            f"as good within its interval, {cost[top] / cost[cheapest]:.1f}x cheaper: "
            f"{cheapest} by {name} ({format_interval(cheap)}, {cost[cheapest]:.1f} s/run)",
            _snippet(summary, cheapest, name),
        ]
    return lines


def format_summary(summary: dict[str, Any]) -> str:
    """The whole table."""
    ci, num = format_interval, format_number
    pct = round(summary["level"] * 100)
    agreement = summary["reference_agreement"]
    cost, accuracy = summary["seconds_per_run"], summary["accuracy"]
    lines = [
        f"calibration: {summary['specs']} specs x {summary['seeds']} seeds; reference "
        f"{_budget(summary['budgets']['reference'])}, {cost['reference']:.1f} s per run, "
        f"accuracy {_span(accuracy['reference'])}",
        f"reference seed-to-seed: tau {ci(agreement['tau'])}, rho {ci(agreement['rho'])}; "
        f"noise ceiling: tau {num(agreement['tau_ceiling'])}, rho {num(agreement['rho_ceiling'])}",
        _noise_line(summary, "reference"),
    ]
    for proxy, signals in summary["signals"].items():
        ratio = (
            f" ({cost[proxy] / cost['reference']:.2f}x the reference's)"
            if cost["reference"] > 0
            else ""
        )
        lines += [
            "",
            f"{proxy}: {_budget(summary['budgets'][proxy])}, cost per run {cost[proxy]:.1f} s"
            f"{ratio}, accuracy {_span(accuracy[proxy])}",
            _noise_line(summary, proxy),
            f"  {'signal':<20} {'tau vs reference (' + str(pct) + ' % CI)':<28} "
            f"{'rho vs reference':<22} proxy seed-to-seed tau",
        ]
        lines += [
            f"  {name:<20} {ci(row['tau']):<28} {ci(row['rho']):<22} {ci(row['seed_tau'])}"
            for name, row in signals.items()
        ]
    lines += ["", *recommend(summary)]
    if summary["failed"]:
        lines.append(f"left out (a run failed or is missing): {', '.join(summary['failed'])}")
    return "\n".join(lines).rstrip()


def format_interval(value: dict[str, float]) -> str:
    """``+0.42 [+0.10, +0.70]``: a value and its interval."""
    num = format_number
    return f"{num(value['value'])} [{num(value['low'])}, {num(value['high'])}]"


def format_number(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "n/a"


def _noise_line(summary: dict[str, Any], budget: str) -> str:
    record = noise_record.NoiseRecord.from_json(summary["noise"][budget])
    return "  " + record.summary(budget)


def _snippet(summary: dict[str, Any], proxy: str, signal: str) -> str:
    """The ``[proxy]`` and ``[objectives]`` lines to paste into the config, indented."""
    budget = summary["budgets"][proxy]
    keys = [f"    {k} = {_toml(budget[k])}" for k in SNIPPET_KEYS if budget.get(k) is not None]
    return "\n".join(["    [proxy]", *keys, "    [objectives]", f'    signal = "{signal}"'])


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _span(bounds: list[float]) -> str:
    return f"{bounds[0]:.3f}-{bounds[1]:.3f}"


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _budget(budget: dict[str, Any]) -> str:
    images = budget.get("train_samples") or "all"
    return f"{budget['epochs']} x {images} images"
