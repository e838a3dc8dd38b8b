"""The markdown tables of a ``bench/gpu.py`` run (what docs/gpu-runs/ keeps)."""

from __future__ import annotations

from typing import Any

AGAINST: dict[str, tuple[str, tuple[str, str, str, str]]] = {
    "replicas": (
        "Seed replicas (k seeds of one spec in one process, vmap) vs k processes",
        ("seeds", "together img/s (all seeds)", "k processes img/s", "together / processes"),
    ),
    "mps": (
        "Trials per GPU under CUDA MPS (k processes, one MPS daemon) vs without",
        ("trials", "img/s whole device, MPS", "without MPS", "MPS / without"),
    ),
}
"""The parts compared with k processes training at once: ``part -> (heading, column names)``."""


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# GPU run: {env['device']}, {env['date']}",
        "",
        f"torch {env['torch']}, CUDA {env['cuda']}; `{env['command']}`; "
        f"{report['seconds']:g} s per measurement after a warm-up epoch; "
        f"{report['wall_s']:.0f} s in all.",
        "",
        "## Worker loop vs bare loop (one trial on the device)",
        "",
        "| proxy | batch | worker img/s | bare img/s | worker / bare (range) "
        "| peak MiB worker | peak MiB bare | first epoch s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, proxy in report["proxies"].items():
        r = proxy["ratio"]
        if not r:
            lines.append(f"| {label} | {proxy['batch_size']} | not measured (--parts) |||||| ")
            continue
        if _missing(r):
            lines.append(f"| {label} | {proxy['batch_size']} | {_missing(r)} |||||| ")
            continue
        low, high = r["ratio_range"]
        lines.append(
            f"| {label} | {proxy['batch_size']} | {r['worker_images_per_s']:,.0f} "
            f"| {r['bare_images_per_s']:,.0f} | **{r['ratio']:.3f}x** ({low:.2f}-{high:.2f}) "
            f"| {_mb(r['peak_mb'])} | {_mb(r['bare_peak_mb'])} | {r['first_epoch_s']:.2f} |"
        )
    lines += _levers(report), _packing(report)
    lines += [_against_processes(report, part, *titles) for part, titles in AGAINST.items()]
    return "\n".join(lines) + "\n"


def _levers(report: dict[str, Any]) -> str:
    rows = [
        "",
        "## Levers (worker loop; against its default row above)",
        "",
        "| proxy | lever | img/s | vs default | peak MiB | first epoch s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, proxy in report["proxies"].items():
        base = proxy["ratio"].get("worker_images_per_s") or proxy["levers"].get("default", {}).get(
            "images_per_s"
        )
        for lever, r in proxy["levers"].items():
            if _missing(r):
                rows.append(f"| {label} | {lever} | {_missing(r)} ||||")
                continue
            gain = f"{r['images_per_s'] / base:.2f}x" if base else "-"
            rows.append(
                f"| {label} | {lever} | {r['images_per_s']:,.0f} | {gain} "
                f"| {_mb(r['peak_mb'])} | {r['first_epoch_s']:.2f} |"
            )
    return "\n".join(rows)


def _packing(report: dict[str, Any]) -> str:
    rows = [
        "",
        "## Trials per GPU (k processes training at once on the device)",
        "",
        "| proxy | trials | img/s per trial | img/s whole device | vs 1 trial | max peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, proxy in report["proxies"].items():
        one = proxy["packing"].get(1, {}).get("card_images_per_s")
        for k, r in proxy["packing"].items():
            if _missing(r):
                rows.append(f"| {label} | {k} | {_missing(r)} ||||")
                continue
            gain = f"{r['card_images_per_s'] / one:.2f}x" if one else "-"
            rows.append(
                f"| {label} | {k} | {r['per_trial_images_per_s']:,.0f} "
                f"| {r['card_images_per_s']:,.0f} | {gain} | {_mb(r['max_peak_mb'])} |"
            )
    return "\n".join(rows)


def _against_processes(
    report: dict[str, Any], part: str, heading: str, names: tuple[str, str, str, str]
) -> str:
    """One row per k of ``part``: its whole-device images/s against the trials-per-GPU row
    of the same k (k processes without MPS), their ratio, peak memory, first epoch."""
    rows = [
        "",
        f"## {heading}",
        "",
        f"| proxy | {' | '.join(names)} | peak MiB | first epoch s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, proxy in report["proxies"].items():
        for k, r in proxy.get(part, {}).items():
            if _missing(r):
                rows.append(f"| {label} | {k} | {_missing(r)} |||||")
                continue
            rate = r.get("card_images_per_s", r.get("images_per_s"))
            apart = proxy["packing"].get(k, {}).get("card_images_per_s")
            gain = f"**{rate / apart:.2f}x**" if apart else "-"
            first = r.get("first_epoch_s")
            rows.append(
                f"| {label} | {k} | {rate:,.0f} | {f'{apart:,.0f}' if apart else '-'} | {gain} "
                f"| {_mb(r.get('peak_mb', r.get('max_peak_mb')))} "
                f"| {'-' if first is None else f'{first:.2f}'} |"
            )
    return "\n".join(rows)


def _missing(result: dict[str, Any]) -> str:
    if "failed" in result:
        return f"FAILED: {result['failed']}"
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    return ""


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"
