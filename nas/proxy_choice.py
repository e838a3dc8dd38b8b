"""Which proxy budget ``nas search`` trains when its trials run on CUDA, and why (one line).

The default proxy (``[proxy]`` unset: :class:`workers.budget.ProxyBudget`) is sized for one
CPU thread, about 15 s a trial; a GPU trains it in about a second and could afford more
images and epochs in the same wall time. Whether a larger proxy *ranks* architectures better
is a measurement, not a guess (docs/fidelity.md), so a search never enlarges its proxy on its
own: ``nas calibrate CONFIG --proxies gpu`` measures the named candidate
(:data:`nas.proxies.GPU_PROXY`) beside the default against a reference on the config's own
data and space, and a search on CUDA with the default proxy switches to the candidate only when
that stored calibration shows its ``[objectives] signal`` ranking with a higher Kendall tau
than the default's (and not below ``[calibrate] min_tau``). A study keeps the proxy it was
started with: its trials must stay comparable. On a CPU nothing changes and nothing is said.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nas.calibrate.fidelity import setup_of
from nas.calibrate.plan import HOW
from nas.calibrate.table import format_number
from nas.config import SearchConfig
from nas.proxies import GPU_PROXY, GPU_REFERENCE_SCALE
from workers.budget import ProxyBudget

MEASURE = (
    f"measure a larger one with `nas calibrate CONFIG --proxies {GPU_PROXY} --scale "
    f"{GPU_REFERENCE_SCALE}`"
)


def choose_proxy(
    config: SearchConfig,
    summary: Mapping[str, Any] | None,
    *,
    cuda: bool,
    started_with: Mapping[str, Any] | None = None,
) -> tuple[SearchConfig, str | None]:
    """``(config to search with, the line saying which proxy and why)``.

    ``summary``: the study's stored calibration (:func:`nas.calibrate.record.load_summary`);
    ``cuda``: the trials train on a GPU; ``started_with``: the ``[proxy]`` an existing study
    was created with (``None``: a new study). The line is ``None`` on a CPU.
    """
    if not cuda:
        return config, None
    if _meaning(config.proxy.to_dict()) != _meaning(ProxyBudget().to_dict()):
        return config, "CUDA visible: training the [proxy] this config sets"
    candidate = _calibrated_candidate(config, summary)
    if started_with is not None:
        if candidate is not None and _meaning(started_with) == _meaning(candidate[0]):
            return _switched(config, candidate[0]), (
                f"CUDA visible: resuming a study started at proxy {GPU_PROXY!r}: kept"
            )
        if _meaning(started_with) == _meaning(config.proxy.to_dict()):
            return config, (
                "CUDA visible: this study was started at the CPU-sized default proxy: kept "
                "(its trials must stay comparable; a new --study can use a larger one)"
            )
        return config, None  # another proxy: the study's own check names the difference
    if candidate is None:
        return config, f"CUDA visible: using the CPU-sized default proxy; {MEASURE}"
    budget, gpu_tau, default_tau = candidate
    signal, floor = config.objectives.signal, config.calibrate.min_tau
    taus = (
        f"{signal} tau {format_number(gpu_tau)} against the reference in `nas calibrate`, "
        f"the default proxy's {format_number(default_tau)}"
    )
    if gpu_tau <= default_tau or (floor is not None and gpu_tau < floor):
        why = "ranked no better" if gpu_tau <= default_tau else f"is below min_tau {floor}"
        return (
            config,
            f"CUDA visible: kept the CPU-sized default proxy: {GPU_PROXY!r} {why} ({taus})",
        )
    shape = f"{budget['epochs']} x {budget['train_samples']} images, batch {budget['batch_size']}"
    return _switched(config, budget), f"CUDA visible: using proxy {GPU_PROXY!r} ({shape}): {taus}"


def trials_on_cuda(config: SearchConfig) -> bool:
    """Whether this search's trials train on a GPU, as this machine sees it."""
    if config.proxy.device == "cpu":
        return False
    import torch

    return bool(torch.cuda.is_available())


def started_proxy(storage: Any, study: str) -> dict[str, Any] | None:
    """The ``[proxy]`` study ``study`` was created with, ``None`` when it does not exist yet."""
    import optuna

    try:
        stored = optuna.load_study(study_name=study, storage=storage).user_attrs.get("config")
    except KeyError:
        return None
    proxy = stored.get("proxy") if isinstance(stored, dict) else None
    return proxy if isinstance(proxy, dict) else None


def _calibrated_candidate(
    config: SearchConfig, summary: Mapping[str, Any] | None
) -> tuple[dict[str, Any], float, float] | None:
    """``(the candidate's budget, its tau, the default's tau)`` when the stored calibration
    measured this data, space and proxy, the candidate included, on the search's signal."""
    if summary is None or summary.get("setup") != json.loads(json.dumps(setup_of(config))):
        return None
    signal = config.objectives.signal
    rows = summary.get("signals", {})
    gpu, default = rows.get(GPU_PROXY, {}).get(signal), rows.get("proxy", {}).get(signal)
    budget = summary.get("budgets", {}).get(GPU_PROXY)
    if gpu is None or default is None or budget is None:
        return None
    return dict(budget), float(gpu["tau"]["value"]), float(default["tau"]["value"])


def _switched(config: SearchConfig, budget: Mapping[str, Any]) -> SearchConfig:
    """``config`` training ``budget``, with its own seed and how it trains (device, compile)."""
    keys = {k: getattr(config.proxy, k) for k in (*HOW, "seed")}
    return replace(config, proxy=ProxyBudget.from_dict({**budget, **keys}))


def _meaning(budget: Mapping[str, Any]) -> dict[str, Any]:
    """What a budget trains, without its seed and how it trains."""
    return {k: v for k, v in budget.items() if k not in (*HOW, "seed")}
