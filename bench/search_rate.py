"""Trials per hour of a default search, run as a user runs it, per device (issue 26; by hand).

    .venv/bin/python bench/search_rate.py [--devices cuda,cpu] [--proxy default|gpu]
        [--trials 12] [--concurrency 2] [--timeout-s 300] [--markdown F.md] [--json F.json]

For each device in ``--devices`` (in that order, in the same run, so the ratio compares the
same machine under the same load) a fresh ``nas search`` process searches the built-in
default space on Fashion-MNIST with the default sampler and pruner into a new SQLite file,
``--no-confirm`` (confirmation retrains the front: a different rate), with only these set:

- ``[proxy] device``: the device under test; ``--proxy gpu`` also sets the named candidate's
  ``[proxy]`` keys (``nas.proxies.GPU_PROXY``), which a search on CUDA takes only after a
  calibration shows it ranking better (docs/performance.md#gpu);
- ``[resources] gpus_per_trial = "auto"`` on CUDA: one trial per card until the first is
  measured, then as many as its peak memory allows;
- ``[search] trials`` and ``concurrency`` from the flags.

The table gives the search's own wall time (``wall_time_s`` of ``nas search --json``: Ray's
start included, as a user waits for it), its trials by state, trials per hour, and each
device's rate over the first device's. A search that fails or outlives ``--timeout-s`` is a
failed row and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nas.proxies import GPU_PROXY, NAMED_PROXIES  # noqa: E402  (after the path insert)

NAS = [sys.executable, "-m", "nas"]
"""``nas`` as a user runs it, through this interpreter (a device machine may have no ``.venv``)."""


def config_text(device: str, proxy: str, trials: int, concurrency: int) -> str:
    """The TOML of one run: the built-in defaults but for the keys named in the docstring."""
    keys: dict[str, Any] = {"device": device}
    if proxy == GPU_PROXY:
        keys.update(NAMED_PROXIES[GPU_PROXY])
    lines = [
        "[search]",
        f"trials = {trials}",
        f"concurrency = {concurrency}",
        "[proxy]",
        *(f"{key} = {json.dumps(value)}" for key, value in keys.items()),
    ]
    if device == "cuda":
        lines += ["[resources]", 'gpus_per_trial = "auto"']
    return "\n".join(lines) + "\n"


def one_search(device: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """``nas search`` on ``device`` in a fresh process: its JSON result and the lines it said
    about the proxy and the GPU share."""
    config = folder / f"{device}.toml"
    config.write_text(config_text(device, args.proxy, args.trials, args.concurrency))
    argv = [*NAS, "search", str(config), "--storage", str(folder / f"{device}.db")]
    argv += ["--study", f"rate-{device}", "--no-confirm", "--json"]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=args.timeout_s, env=_env_of_this_tree()
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"still searching after --timeout-s {args.timeout_s:g}"}
    process_s = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": f"exit status {done.returncode}: {last[:300]}"}
    result = json.loads(done.stdout)
    said = [
        line
        for line in done.stderr.splitlines()
        if "CUDA visible" in line or "gpus_per_trial auto" in line
    ]
    finished, wall = result["finished"], result["wall_time_s"]
    return {
        "finished": finished,
        "counts": result["counts"],
        "wall_time_s": wall,
        "process_s": round(process_s, 1),
        "trials_per_hour": round(3600 * finished / wall, 1),
        "said": said,
    }


def _env_of_this_tree() -> dict[str, str]:
    """The environment with this checkout first on ``PYTHONPATH``: the ``nas`` it times is the
    code beside this script, not whichever tree an editable install points at."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def markdown(rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    first = next((row for row in rows.values() if "failed" not in row), None)
    lines = [
        f"`nas search --no-confirm`, {args.trials} trials, concurrency {args.concurrency}, "
        f"proxy {args.proxy!r}",
        "",
        "| device | search wall (s) | trials by state | trials/hour | / first device |",
        "|---|---:|---|---:|---:|",
    ]
    for device, row in rows.items():
        if "failed" in row:
            lines.append(f"| {device} | failed: {row['failed']} | | | |")
            continue
        counts = ", ".join(f"{n} {state.lower()}" for state, n in row["counts"].items())
        ratio = row["trials_per_hour"] / first["trials_per_hour"] if first else float("nan")
        lines.append(
            f"| {device} | {row['wall_time_s']:.0f} | {counts} | {row['trials_per_hour']:.0f} "
            f"| {ratio:.2f}x |"
        )
    said = [f"- {device}: {line}" for device, row in rows.items() for line in row.get("said", [])]
    return "\n".join(lines + (["", *said] if said else [])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", default="cpu", help="comma-separated: cpu, cuda")
    parser.add_argument("--proxy", default="default", choices=("default", GPU_PROXY))
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    devices = [device.strip() for device in args.devices.split(",") if device.strip()]
    if not devices or set(devices) - {"cpu", "cuda"}:
        parser.error(f"--devices takes cpu and/or cuda, comma-separated; got {args.devices!r}")
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="nas-rate-") as tmp:
        for device in devices:
            print(f"search_rate: {device} ...", flush=True)
            rows[device] = one_search(device, args, Path(tmp))
            print(f"search_rate: {device}: {json.dumps(rows[device])}", flush=True)
    table = markdown(rows, args)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.json:
        shown = {key: str(value) for key, value in vars(args).items()}
        args.json.write_text(json.dumps({"args": shown, "rows": rows}, indent=2))
    sys.exit(1 if any("failed" in row for row in rows.values()) else 0)


if __name__ == "__main__":
    main()
