"""The front as text: the one table ``nas pareto`` and the end of ``nas search`` print.

Where the front's accuracies carry a standard error (the study measured its noise, or its
confirmations have two seeds or more), every value is ``mean ± SE`` with no more digits than the
SE supports, ``n`` is the runs behind it and ``tied with`` lists the members within noise
(docs/noise.md); a study without measured noise shows bare means, to the digits their validation
images support (three decimals when their number is unknown), and its heading says its values
carry no measured noise.
"""

from __future__ import annotations

from nas.results.front import StudyFront


def front_heading(front: StudyFront) -> str:
    """``study 'S': 3 trials on the front of 8 COMPLETE (11 in all); * marks the knee``."""
    n = len(front.members)
    trials = "1 trial" if n == 1 else f"{n} trials"
    ranked = "; accuracy is the confirmed one (proxy beside it)" if _confirmed(front) else ""
    return (
        f"study {front.study!r}: {trials} on the front of {len(front.complete)} COMPLETE "
        f"({front.summary.n_trials} in all); * marks the knee{ranked}; {_noise(front)}"
    )


def _noise(front: StudyFront) -> str:
    if not front.measured:
        return "values carry no measured noise"
    return "± is one standard error, n the runs averaged, tied: not resolved at this noise"


def format_table(front: StudyFront) -> str:
    """The front as aligned text columns, cheapest first."""
    confirmed, noisy = _confirmed(front), front.measured
    score = "accuracy" if front.score_name == "val_accuracy" else front.score_name
    first, proxy = ("accuracy", [f"proxy {score}"]) if confirmed else (score, [])
    header = ["trial", first, *(["n"] if noisy else []), *proxy, "MACs (M)", "params (M)"]
    numeric = len(header)
    header += [*(["tied with"] if noisy else []), "stages", "reference"]
    rows = []
    for m in front.members:
        cells = [f"{m.number}{'*' if m.knee else ''}", m.estimate(front.ranked_by).text()]
        if noisy:
            cells.append(str(m.estimate(front.ranked_by).n))
        if confirmed:
            if m.confirmed_accuracy is None:
                cells[1:] = ["-", "-"] if noisy else ["-"]
            cells.append(m.estimate("proxy").text())
        cells += [
            f"{m.macs / 1e6:,.2f}",
            "-" if m.params is None else f"{m.params / 1e6:,.3f}",
            *([", ".join(map(str, m.tied_with)) or "-"] if noisy else []),
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
