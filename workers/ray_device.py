"""What ``device = "auto"`` means inside a Ray task or actor: CUDA only with a GPU Ray assigned.

Ray 2.60 leaves ``CUDA_VISIBLE_DEVICES`` as the node has it for a task or actor that reserved
no GPU (it used to set it empty; ray-project/ray#54868, ``RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO``
restores that). Torch there sees every GPU of the node, so ``"auto"`` alone would train a run
that reserved none (``gpus_per_trial = 0``, or a CPU head node's default) on the node's first
GPU, beside the runs Ray placed there. The Ray entry points (:mod:`workers.trainable`,
:func:`workers.one_run.train_once_in_ray`) ask here first; plain processes never do.
"""

from __future__ import annotations


def assigned_device(device: str) -> str:
    """``"cpu"`` for ``"auto"`` when this Ray task or actor holds no GPU, else ``device``.

    Call it only inside a Ray task or actor: a driver holds no GPU by Ray's account.
    """
    if device != "auto":
        return device
    import ray

    return device if ray.get_gpu_ids() else "cpu"
