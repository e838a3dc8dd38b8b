"""``nas.resources.remote_task``: the Ray task a confirmation or calibration run is.

Real Ray, told it has one GPU (``gpu_ray``: Ray only counts it, so this runs on a CPU).
"""

from __future__ import annotations

import os

from nas.resources import remote_task


def _worker() -> tuple[int, list[str]]:
    """The worker process a run lands in and the GPUs Ray assigned it."""
    import ray

    return os.getpid(), [str(gpu) for gpu in ray.get_gpu_ids()]


def test_each_run_holding_a_gpu_share_gets_a_fresh_worker(gpu_ray: None) -> None:
    """``ray.remote(f).options(num_gpus=...)`` reuses one worker for every run: CUDA in it
    would keep the GPU, the context and the cached memory of its first run."""
    import ray

    task = remote_task(_worker, {"cpu": 1.0, "gpu": 0.5})
    runs = [ray.get(task.remote()) for _ in range(3)]
    assert [gpus for _, gpus in runs] == [["0"]] * 3, "each holds a share of the one GPU"
    assert len({pid for pid, _ in runs}) == 3, runs


def test_a_run_without_a_gpu_share_holds_no_gpu(gpu_ray: None) -> None:
    import ray

    _, gpus = ray.get(remote_task(_worker, {"cpu": 1.0, "gpu": 0.0}).remote())
    assert gpus == []
