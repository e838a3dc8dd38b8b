"""The proxy's own noise, measured from replica trials and stored as ``noise:proxy``.

``[noise] specs`` reference designs are trained again at other ``[proxy] seed`` s (replicas,
:func:`nas.search.study.queue_replicas`). Each such spec's COMPLETE runs, one per seed (the
original and its replicas), are one group; pooled over the groups
(:func:`nas.results.noise_record.measure`, the within-spec mean square) they give the
run-to-run standard deviation of one proxy score at this study's data, space and budget. The
record's budget is the proxy's without its ``seed`` (the seed is what varies). Measured again at
the end of every search, so a resumed study counts the replicas that finished since.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import TrialState

from nas.config import SearchConfig
from nas.results.noise_record import NoiseRecord, measure, save
from nas.results.replicas import is_replica

UNMEASURED = (
    "proxy noise: not measured ([noise] specs = 0): the proxy's values carry no measured noise"
)


def replica_groups(study: optuna.Study, budget_seed: int) -> list[list[float]]:
    """Per spec with a COMPLETE replica: its score at each seed (the original's at
    ``budget_seed``), one run per seed, in trial order."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    replicated = {t.user_attrs.get("spec_id") for t in complete if is_replica(t)}
    runs: dict[str, dict[int, float]] = {}
    for t in complete:
        spec_id = t.user_attrs.get("spec_id")
        if spec_id not in replicated or "reused_from" in t.user_attrs or not t.values:
            continue
        seed = int(t.user_attrs["seed"]) if is_replica(t) else budget_seed
        runs.setdefault(str(spec_id), {}).setdefault(seed, float(t.values[0]))
    return [list(by_seed.values()) for by_seed in runs.values() if len(by_seed) >= 2]


def measure_proxy_noise(
    study: optuna.Study, config: SearchConfig, budget: Mapping[str, Any]
) -> tuple[NoiseRecord | None, str]:
    """Measure and store ``noise:proxy`` from the study's replicas; the record (``None``: not
    measured) and the line to print: its summary, or why there is none."""
    if config.noise.specs == 0:
        return None, UNMEASURED
    groups = replica_groups(study, int(budget.get("seed", config.proxy.seed)))
    if not groups:
        return None, _why_not(study)
    metric = config.objectives.names[0]
    images = budget.get("val_samples")
    accuracy = metric == "val_accuracy"
    record = measure(
        groups,
        metric=metric,
        val_images=images if accuracy and isinstance(images, int) else None,
        budget={k: v for k, v in budget.items() if k != "seed"},
    )
    save(study, "proxy", record)
    at = sum(sum(g) for g in groups) / sum(len(g) for g in groups)
    return record, record.summary("proxy", accuracy=at if accuracy else None)


def _why_not(study: optuna.Study) -> str:
    """Why no replicated spec has two runs, counted by how its replica trials stand."""
    replicas = [t for t in study.get_trials(deepcopy=False) if is_replica(t)]
    if not replicas:
        return "proxy noise: not measured (no reference design to replicate in this space)"
    states: dict[str, int] = {}
    for t in replicas:
        name = t.state.name if t.state.is_finished() else "not trained (trial budget)"
        states[name] = states.get(name, 0) + 1
    shown = ", ".join(f"{n} {name}" for name, n in sorted(states.items()))
    return (
        f"proxy noise: not measured (no replicated spec has two COMPLETE runs; replicas: "
        f"{shown}); the proxy's values carry no measured noise"
    )
