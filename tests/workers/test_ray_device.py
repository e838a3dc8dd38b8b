"""``device = "auto"`` in a Ray task: CUDA only with a GPU Ray assigned (:mod:`workers.ray_device`).

Ray 2.60 shows a task that reserved no GPU every GPU of its node, so asking torch alone would
put such a run on the node's first GPU. Real Ray told it has one GPU (``gpu_ray``: Ray only
counts it, so this runs on a CPU).
"""

from __future__ import annotations

from workers.ray_device import assigned_device


def _auto_here() -> str:
    return assigned_device("auto")


def test_auto_is_the_cpu_in_a_task_without_a_gpu_and_kept_in_one_with_a_share(
    gpu_ray: None,
) -> None:
    import ray

    without = ray.remote(num_cpus=1, num_gpus=0)(_auto_here)
    with_share = ray.remote(num_cpus=1, num_gpus=0.5)(_auto_here)
    assert ray.get(without.remote()) == "cpu"
    assert ray.get(with_share.remote()) == "auto", "torch then finds the GPU Ray made visible"


def test_a_device_named_outright_is_never_changed() -> None:
    assert [assigned_device(name) for name in ("cpu", "cuda")] == ["cpu", "cuda"]
