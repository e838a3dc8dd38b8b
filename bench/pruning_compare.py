"""The comparison half of ``bench/pruning.py``: each arm's study read back, then set beside the
no-pruning arm's.

Per arm, :func:`arm_summary` reads what the study holds (epochs, training seconds, states, the
trained COMPLETE trials); :func:`compare` puts every arm against ``none`` (epochs and seconds
saved, hypervolume kept, which no-pruning front members were pruned or never proposed) at one
:func:`reference_point`; :func:`markdown` is the table ``docs/pruning.md`` keeps.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

ACC_MACS = ["maximize", "minimize"]


def arm_summary(study: Any) -> dict[str, Any]:
    """Epochs, wall time, states, and the trained COMPLETE trials' numbers, spec ids, values.

    Trials that reuse an equivalent spec's result (``reused_from``) trained nothing: they count
    in the states but not on the front.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    trained = [t for t in trials if "reused_from" not in t.user_attrs]
    complete = [t for t in trained if t.state == TrialState.COMPLETE]
    states: dict[str, int] = {}
    specs: dict[str, set[str]] = {}
    for trial in trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
        specs.setdefault(trial.user_attrs.get("spec_id", ""), set()).add(trial.state.name)
    return {
        "study": study.study_name,
        "signal": (study.metric_names or ["value"])[0],
        "epochs": sum(len(t.intermediate_values) for t in trials),
        "train_s": sum(float(t.user_attrs.get("wall_time_s") or 0.0) for t in trained),
        "wall_time_s": study.user_attrs.get("bench_wall_time_s"),
        "states": states,
        "complete": [(t.number, t.user_attrs.get("spec_id"), list(t.values[:2])) for t in complete],
        "states_by_spec": {spec: sorted(names) for spec, names in specs.items()},
    }


def front_of(complete: Sequence[tuple[int, str, list[float]]]) -> list[tuple[int, str, list]]:
    from nas.results.pareto import pareto_mask

    if not complete:
        return []
    mask = pareto_mask(np.asarray([values for _, _, values in complete]), ACC_MACS)
    return [row for row, on in zip(complete, mask) if on]


def hypervolume(complete: Sequence[tuple[int, str, list[float]]], ref: Sequence[float]) -> float:
    from nas.results.pareto import hypervolume_2d

    if not complete:
        return 0.0
    return hypervolume_2d(np.asarray([values for _, _, values in complete]), ACC_MACS, ref)


def _killed(states: Sequence[str]) -> bool:
    """Pruned and never trained to the end under this pruner (a spec may be sampled twice)."""
    return "PRUNED" in states and "COMPLETE" not in states


def compare(arms: dict[str, dict[str, Any]], ref: Sequence[float]) -> dict[str, Any]:
    """Per arm: epochs and training seconds (and how many times fewer than ``none``), wall,
    hypervolume (and ratio to ``none``), and the baseline front members it pruned or never
    proposed."""
    baseline = arms.get("none")
    base_front = front_of(baseline["complete"]) if baseline else []
    base_hv = hypervolume(baseline["complete"], ref) if baseline else float("nan")
    rows = {}
    for name, arm in arms.items():
        hv = hypervolume(arm["complete"], ref)
        members = [
            {"spec_id": spec_id, "baseline_trial": number, "values": values}
            for number, spec_id, values in base_front
        ]
        seen = arm["states_by_spec"]
        killed = [m for m in members if _killed(seen.get(m["spec_id"], []))]
        unseen = [m for m in members if m["spec_id"] not in seen]
        rows[name] = {
            "study": arm["study"],
            "epochs": arm["epochs"],
            "epochs_fewer": _ratio(baseline["epochs"], arm["epochs"]) if baseline else None,
            "train_s": round(arm["train_s"], 1),
            "train_s_fewer": _ratio(baseline["train_s"], arm["train_s"]) if baseline else None,
            "wall_time_s": arm["wall_time_s"],
            "states": arm["states"],
            "hypervolume": hv,
            "hypervolume_ratio": hv / base_hv if base_hv else float("nan"),
            "front_size": len(front_of(arm["complete"])),
            "baseline_front_killed": killed,
            "baseline_front_not_proposed": unseen,
        }
    return {
        "reference": list(ref),
        "baseline_front": [[n, s, v] for n, s, v in base_front],
        "arms": rows,
    }


def _ratio(baseline: float, arm: float) -> float | None:
    """How many times less ``arm`` cost than ``baseline`` (``None`` when the arm cost 0)."""
    return round(baseline / arm, 2) if arm else None


def reference_point(arms: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[float]:
    """``(signal, MACs)``, the same for every arm: the flags, or just past the worst trials.

    The signal's reference is the worst COMPLETE trial's value less a tenth of the range of
    all COMPLETE values (the first objective is the study's signal, ``neg_tail_loss`` by
    default, so no fixed accuracy fits it); MACs' is 10 % above the largest COMPLETE trial's.
    """
    complete = [values for arm in arms.values() for _, _, values in arm["complete"]]
    signal = [values[0] for values in complete] or [0.0]
    macs = [values[1] for values in complete] or [1.0]
    ref_value = min(signal) - 0.1 * (max(signal) - min(signal))
    return [
        ref_value if args.ref_value is None else args.ref_value,
        1.1 * max(macs) if args.ref_macs is None else args.ref_macs,
    ]


def markdown(report: dict[str, Any]) -> str:
    ref_value, ref_macs = report["reference"]
    lines = [
        f"reference point: {report['signal']} {ref_value:.4f}, MACs {ref_macs / 1e6:.2f} M; "
        f"no-pruning front: {len(report['baseline_front'])} trials",
        "",
        "| pruner | epochs (x fewer) | training s (x fewer) | wall (s) | states | hypervolume "
        "| vs none | front | none-front members pruned | not proposed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["arms"].items():
        states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(row["states"].items()))
        killed = _members(row["baseline_front_killed"])
        unseen = _members(row["baseline_front_not_proposed"])
        lines.append(
            f"| {name} | {row['epochs']} ({row['epochs_fewer']}x) | "
            f"{row['train_s']:.0f} ({row['train_s_fewer']}x) | {row['wall_time_s']} | {states} | "
            f"{row['hypervolume'] / 1e6:.3f} M | {row['hypervolume_ratio']:.3f} | "
            f"{row['front_size']} | {killed} | {unseen} |"
        )
    return "\n".join(lines)


def _members(rows: Sequence[dict[str, Any]]) -> str:
    """``2: #3 (0.812, 40.1 M), #7 (...)``, or ``0: -``."""
    listed = ", ".join(
        f"#{k['baseline_trial']} ({k['values'][0]:.3f}, {k['values'][1] / 1e6:.1f} M)" for k in rows
    )
    return f"{len(rows)}: {listed or '-'}"
