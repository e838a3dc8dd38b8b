"""The parts of a ``bench/gpu.py`` run (ratio, packing, levers, replicas, MPS), each measured
through one :class:`Bench`: the data, the arguments and the clock every measurement shares."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from gpu_loops import bare_rate, worker_rate
from gpu_mps import CONTROL, mps_daemon
from gpu_packing import packed
from gpu_replicas import replicas_rate

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig

Proxies = dict[str, tuple[ArchSpec, ProxyBudget]]


class Clock:
    """The run's time budget: once spent, measurements are skipped (and say so)."""

    def __init__(self, budget_s: float) -> None:
        self.started, self.budget_s = time.perf_counter(), budget_s
        self.failed = False

    def run(self, what: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if time.perf_counter() - self.started > self.budget_s:
            print(f"  {what}: skipped (--budget-s {self.budget_s:g} spent)", flush=True)
            return {"skipped": f"--budget-s {self.budget_s:g} spent"}
        try:
            result = measure()
        except KeyboardInterrupt:  # `timeout -s INT`: keep what was measured, skip the rest
            self.failed, self.budget_s = True, 0.0
            print(f"  {what}: interrupted", flush=True)
            return {"failed": "interrupted (SIGINT: out of time)"}
        except Exception as exc:
            self.failed = True
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            print(f"  {what}: FAILED {reason}", flush=True)
            return {"failed": reason}
        print(f"  {what}: {json.dumps(result)}", flush=True)
        return result


@dataclass(frozen=True)
class Bench:
    """What every measurement of one run shares; each part measures one proxy (``label``,
    ``spec``, ``budget``) through :attr:`clock`."""

    data: DataConfig
    args: argparse.Namespace
    clock: Clock

    @property
    def device(self) -> torch.device:
        return torch.device(self.args.device)

    def ratio(self, label: str, spec: ArchSpec, budget: ProxyBudget) -> dict[str, Any]:
        """The worker's loop against the bare one: rounds of (worker, bare) or (bare, worker)
        passes, the median per-round ratio."""
        return self.clock.run(f"{label}: worker vs bare", partial(self._ratio, spec, budget))

    def packing_row(
        self,
        label: str,
        spec: ArchSpec,
        budget: ProxyBudget,
        packing: dict[int, dict[str, Any]],
        k: int,
    ) -> None:
        """``packing[k]``: k processes training at once, measured unless this run has it."""
        if k not in packing:
            run = partial(packed, spec, budget, self.data, self.args, k)
            packing[k] = self.clock.run(f"{label}: {k} trials", run)

    def levers(self, label: str, spec: ArchSpec, budget: ProxyBudget) -> dict[str, Any]:
        """The worker loop with one thing changed from what a trial does on this device."""
        device, args = self.device, self.args

        def at(changed_budget: ProxyBudget) -> partial[dict[str, Any]]:
            return partial(worker_rate, spec, changed_budget, self.data, device, args.seconds)

        flipped = device.type != "cuda"  # channels-last is the CUDA default, off on a CPU
        changed: dict[str, Callable[[], dict[str, Any]]] = {}
        if "ratio" not in args.parts:  # what the levers are compared with
            changed["default"] = at(budget)
        changed[f"channels_last {'on' if flipped else 'off'}"] = partial(
            at(budget), channels_last=flipped
        )
        for batch in args.batch_sizes:
            changed[f"batch {batch}"] = at(dataclasses.replace(budget, batch_size=batch))
        if args.compile:
            changed["compile"] = at(dataclasses.replace(budget, compile=True))
            if device.type == "cuda":
                changed["compile reduce-overhead (CUDA graphs)"] = partial(
                    at(budget), compile_mode="reduce-overhead"
                )
        return {lever: self.clock.run(f"{label}: {lever}", run) for lever, run in changed.items()}

    def replicas(
        self, label: str, spec: ArchSpec, budget: ProxyBudget, packing: dict[int, dict[str, Any]]
    ) -> dict[int, dict[str, Any]]:
        """``k -> images/s of k seeds together``; the packing row of each such k that this run
        has not measured yet goes into ``packing``, which the table compares them with."""
        together: dict[int, dict[str, Any]] = {}
        for k in self.args.replicas:
            run = partial(replicas_rate, spec, budget, self.data, self.device, self.args.seconds, k)
            together[k] = self.clock.run(f"{label}: {k} seeds together", run)
            self.packing_row(label, spec, budget, packing, k)
        return together

    def under_mps(self, proxies: Proxies, out: dict[str, dict[str, Any]]) -> None:
        """``out[label]["mps"][k]``: the packing of ``k > 1`` trials under one MPS daemon, and
        before it the packing rows without MPS that this run has not measured yet."""
        ks = [k for k in self.args.trials if k > 1]
        why = "a CPU run" if self.device.type != "cuda" else None
        if why is None and shutil.which(CONTROL) is None:
            why = f"no {CONTROL} on this machine"
        for label in proxies:
            out[label]["mps"] = {k: {"skipped": why} for k in ks} if why else {}
        if why:
            print(f"  mps: skipped ({why})", flush=True)
            return
        for label, (spec, budget) in proxies.items():
            for k in ks:
                self.packing_row(label, spec, budget, out[label]["packing"], k)
        try:
            with mps_daemon():
                for label, (spec, budget) in proxies.items():
                    for k in ks:
                        run = partial(packed, spec, budget, self.data, self.args, k)
                        out[label]["mps"][k] = self.clock.run(f"{label}: {k} trials under MPS", run)
        except RuntimeError as exc:  # the daemon did not start
            self.clock.failed = True
            print(f"  mps: FAILED {exc}", flush=True)
            for label in proxies:
                out[label]["mps"] = {k: {"failed": str(exc)} for k in ks}

    def _ratio(self, spec: ArchSpec, budget: ProxyBudget) -> dict[str, Any]:
        device, seconds = self.device, self.args.seconds
        worker, bare, ratios = [], [], []
        for round_ in range(self.args.rounds):
            first_worker = round_ % 2 == 0
            pair: dict[str, dict[str, Any]] = {}
            for side in ("worker", "bare") if first_worker else ("bare", "worker"):
                rate = worker_rate if side == "worker" else bare_rate
                pair[side] = rate(spec, budget, self.data, device, seconds)
            worker.append(pair["worker"])
            bare.append(pair["bare"])
            ratios.append(pair["worker"]["images_per_s"] / pair["bare"]["images_per_s"])
        cuda = device.type == "cuda"
        return {
            "worker_images_per_s": statistics.median(r["images_per_s"] for r in worker),
            "bare_images_per_s": statistics.median(r["images_per_s"] for r in bare),
            "ratio": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
            "peak_mb": max(r["peak_mb"] or 0.0 for r in worker) if cuda else None,
            "bare_peak_mb": max(r["peak_mb"] or 0.0 for r in bare) if cuda else None,
            "first_epoch_s": worker[0]["first_epoch_s"],
        }
