"""The front as text: the one table ``nas pareto`` and the end of ``nas search`` print."""

from __future__ import annotations

from nas.results.front import StudyFront


def front_heading(front: StudyFront) -> str:
    """``study 'S': 3 trials on the front of 8 COMPLETE (11 in all); * marks the knee``."""
    n = len(front.members)
    trials = "1 trial" if n == 1 else f"{n} trials"
    ranked = "; accuracy is the confirmed one (proxy beside it)" if _confirmed(front) else ""
    return (
        f"study {front.study!r}: {trials} on the front of {len(front.complete)} COMPLETE "
        f"({front.summary.n_trials} in all); * marks the knee{ranked}"
    )


def format_table(front: StudyFront) -> str:
    """The front as aligned text columns, cheapest first."""
    confirmed = _confirmed(front)
    score = "accuracy" if front.score_name == "val_accuracy" else front.score_name
    first, proxy = ("accuracy", [f"proxy {score}"]) if confirmed else (score, [])
    header = ["trial", first, *proxy, "MACs (M)", "params (M)"]
    numeric = len(header)
    header += ["stages", "reference"]
    rows = []
    for m in front.members:
        accuracy = m.accuracy(front.ranked_by)
        cells = [f"{m.number}{'*' if m.knee else ''}", f"{accuracy:.4f}"]
        if confirmed:
            cells[1] = "-" if m.confirmed_accuracy is None else cells[1]
            cells.append(f"{m.proxy_accuracy:.4f}")
        cells += [
            f"{m.macs / 1e6:,.2f}",
            "-" if m.params is None else f"{m.params / 1e6:,.3f}",
            " | ".join(m.stages()) or "-",
            m.reference or "",
        ]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            c.rjust(w) if i < numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _confirmed(front: StudyFront) -> bool:
    return front.ranked_by == "confirmed"
