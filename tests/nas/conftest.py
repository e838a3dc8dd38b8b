"""Fixtures for the search tests: one real local Ray per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local two-CPU Ray for the module (``run_search`` uses a running Ray, leaves it up)."""
    import ray

    if ray.is_initialized():  # another module's Ray: use it, leave it running
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
