"""What a calibration trains: which specs, at which budgets and seeds, in which order."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from nas.config import SearchConfig
from nas.confirm.budget import confirm_budgets
from nas.proxies import NAMED_PROXIES
from nas.reference import reference_params
from nas.space import SearchSpace
from workers.budget import ProxyBudget

BUDGETS = ("proxy", "reference")
"""The budgets every spec is trained at (``--proxies`` adds candidates between them)."""
HOW = ("device", "compile")
"""Budget fields that change how a run trains, not what it measures: left out of its key."""
DRAW_SEED = 0
"""The random sampler's seed: the same config draws the same specs, so a rerun resumes them."""


@dataclass(frozen=True)
class Run:
    """One training run: ``spec`` (``ArchSpec.to_dict()``) at ``budget`` (with its seed)."""

    spec_name: str
    spec: dict[str, Any]
    budget_name: str
    budget: dict[str, Any]
    seed: int

    @property
    def key(self) -> str:
        """What identifies a stored run: the spec and the whole budget, seed included, so a
        changed config retrains what it changed and nothing else."""
        budget = {k: v for k, v in self.budget.items() if k not in HOW}
        return json.dumps([self.spec, budget], sort_keys=True)

    def label(self) -> str:
        return f"{self.budget_name} {self.spec_name} seed {self.seed}"


def draw_specs(space: SearchSpace, count: int) -> dict[str, dict[str, Any]]:
    """``count`` distinct specs: the reference designs the space can draw (in their order),
    then specs drawn by Optuna's random sampler (seed :data:`DRAW_SEED`), named ``randomNN``.

    Deterministic for a space and count, and a larger count keeps the smaller one's specs.
    """
    import optuna

    if count < 3:
        raise ValueError(f"--specs {count}: a rank correlation needs at least 3 specs")
    specs: dict[str, dict[str, Any]] = {}
    for name, params in reference_params(space).items():
        if len(specs) == count:
            return specs
        specs[name] = space.sample(optuna.trial.FixedTrial(params)).to_dict()
    seen = {json.dumps(s, sort_keys=True) for s in specs.values()}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=DRAW_SEED))
    drawn, tries = 0, 0
    while len(specs) < count:
        tries += 1
        if tries > 100 * count:
            raise ValueError(f"--specs {count}: the space has fewer distinct specs; ask fewer")
        trial = study.ask()
        spec = space.sample(trial).to_dict()
        study.tell(trial, 0.0)
        key = json.dumps(spec, sort_keys=True)
        if key not in seen:
            seen.add(key)
            specs[f"random{drawn:02d}"] = spec
            drawn += 1
    return specs


def budgets(
    config: SearchConfig, seeds: int, candidates: dict[str, dict[str, Any]] | None = None
) -> dict[str, list[ProxyBudget]]:
    """``{"proxy": [...], <candidate>: [...], "reference": [...]}``: ``seeds`` budgets each,
    at seeds ``proxy.seed + i``. The reference is the ``[confirm]`` budget
    (:func:`confirm_budgets`); a candidate is the config's proxy with its keys replaced."""
    if seeds < 2:
        raise ValueError(f"--seeds {seeds}: seed-to-seed agreement needs at least 2 seeds")
    out = {"proxy": [replace(config.proxy, seed=config.proxy.seed + i) for i in range(seeds)]}
    for name, keys in (candidates or {}).items():
        try:
            proxy = ProxyBudget.from_dict({**config.proxy.to_dict(), **keys})
        except ValueError as exc:
            raise ValueError(f"--proxies {name}: {exc}") from None
        out[name] = [replace(proxy, seed=proxy.seed + i) for i in range(seeds)]
    out["reference"] = confirm_budgets(
        config.proxy, scale=config.confirm.scale, val_samples=config.confirm.val_samples,
        seeds=seeds,
    )  # fmt: skip
    return out


def parse_candidates(given: list[str]) -> dict[str, dict[str, Any]]:
    """``["2x3000:epochs=2,train_samples=3000", ...]`` -> ``{"2x3000": {"epochs": 2, ...}}``;
    values are read as TOML (``3000``, ``0.1``, ``true``), else kept as strings. A name of
    :data:`nas.proxies.NAMED_PROXIES` alone (``gpu``) is that candidate's keys."""
    import tomllib

    out: dict[str, dict[str, Any]] = {}
    for item in given:
        name, _, pairs = item.partition(":")
        name = name.strip()
        if not pairs and name in NAMED_PROXIES and name not in out:
            out[name] = dict(NAMED_PROXIES[name])
            continue
        if not name or not pairs or name in (*BUDGETS, *out):
            raise ValueError(
                f"--proxies {item!r}: write NAME:KEY=VALUE,... with a new NAME (not proxy or "
                "reference), e.g. 2x3000:epochs=2,train_samples=3000, or a named one: "
                + ", ".join(NAMED_PROXIES)
            )
        keys: dict[str, Any] = {}
        for pair in pairs.split(","):
            key, eq, raw = pair.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"--proxies {item!r}: {pair!r} is not KEY=VALUE")
            try:
                keys[key.strip()] = tomllib.loads(f"v = {raw.strip()}")["v"]
            except tomllib.TOMLDecodeError:
                keys[key.strip()] = raw.strip()
        out[name] = keys
    return out


def calibration_runs(
    specs: dict[str, dict[str, Any]], by_budget: dict[str, list[ProxyBudget]]
) -> list[Run]:
    """Every run, seed by seed and the proxies before the reference: a calibration cut short
    still has whole passes to summarise."""
    seeds = len(by_budget["proxy"])
    out = []
    for i in range(seeds):
        for name in by_budget:
            budget = by_budget[name][i]
            out += [
                Run(spec_name, spec, name, budget.to_dict(), budget.seed)
                for spec_name, spec in specs.items()
            ]
    return out
