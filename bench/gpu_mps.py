"""Trials per GPU under CUDA MPS, for ``bench/gpu.py`` (issue 26, item 3).

Without MPS, the k processes of ``gpus_per_trial = 1/k`` each hold a CUDA context and the card
time-slices between them: one process's kernels run at a time. The Multi-Process Service
(NVIDIA's "Multi-Process Service" guide) funnels every client's work through one
server context, so kernels of different processes run at once: what many small trials, each
too small to fill the card, could use. A user turns it on per machine (``nvidia-cuda-mps-control
-d`` before ``ray start``); this measures whether it is worth saying so.

:func:`mps_daemon` starts a private daemon (its pipe and log folders in a temporary folder,
named to the processes started inside it through ``CUDA_MPS_PIPE_DIRECTORY`` and
``CUDA_MPS_LOG_DIRECTORY``) and stops it on the way out, also when interrupted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONTROL = "nvidia-cuda-mps-control"


@contextmanager
def mps_daemon() -> Iterator[None]:
    """An MPS control daemon for the processes this process spawns inside the block.

    Raises:
        RuntimeError: no ``nvidia-cuda-mps-control`` on ``PATH``, or it did not start.
    """
    control = shutil.which(CONTROL)
    if control is None:
        raise RuntimeError(f"{CONTROL} is not on PATH: no MPS on this machine")
    root = Path(tempfile.mkdtemp(prefix="nas-mps-"))
    env = {
        "CUDA_MPS_PIPE_DIRECTORY": str(root / "pipe"),
        "CUDA_MPS_LOG_DIRECTORY": str(root / "log"),
    }
    for folder in env.values():
        Path(folder).mkdir()
    started = subprocess.run(
        [control, "-d"], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )
    if started.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{CONTROL} -d: exit {started.returncode} {started.stderr.strip()}")
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        try:
            subprocess.run([control], input="quit\n", text=True, env=os.environ.copy(), timeout=30)
        except subprocess.TimeoutExpired:
            print(f"{CONTROL}: quit timed out; its daemon may still run ({root})", flush=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)
