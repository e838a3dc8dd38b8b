"""The search on a real multi-node Ray cluster, and ``[resources] storage_path``.

The cluster is Ray's own multi-node-on-one-machine harness (``ray.cluster_utils.Cluster``):
a head and a second node, each a raylet of its own with one CPU, so two trials of one CPU
each can only run at once on different nodes. ``run_search`` joins it through
``RAY_ADDRESS`` as ``nas search`` joins a real cluster. The same seeded search on a one-node
cluster must give the same trials and the same front: the random sampler draws the same
specs whatever node trains them, and seeded one-thread CPU training is deterministic.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import FrozenTrial, TrialState

from nas.config import SearchConfig
from nas.search import run_search
from nas.search.run import SearchResult
from storage import artifact_store
from tests.idx import write_banded_fashion_mnist

NODE_ATTR = "node_id"
"""The trial user attr the search records ``workers.trainable``'s ``node_id`` report under."""


def _config(folder: Path, data: Path, storage_path: Path | None = None) -> SearchConfig:
    resources: dict[str, Any] = {"cpus_per_trial": 1.0, "max_trial_seconds": 300.0}
    if storage_path is not None:
        resources["storage_path"] = str(storage_path)
    return SearchConfig.from_dict(
        {
            "search": {
                "study": "multinode",
                "storage": str(folder / "nas.db"),
                "trials": 4,
                "concurrency": 2,
                "seed": 0,
                "sampler": "random",
                "pruner": "none",
            },
            "space": {"blocks": ["none", "se", "eca"], "positions": ["branch", "stage_end"]},
            "data": {"data_dir": str(data), "download": False},
            "proxy": {
                "epochs": 2,
                "train_samples": 100,
                "val_samples": 40,
                "width": 0.25,
                "input_size": 14,
                "batch_size": 50,
                "augment": False,
            },
            "noise": {"specs": 0},  # the trials are the sampler's: replicas are tested elsewhere
            "resources": resources,
            "confirm": {"after_search": False},
        }
    )


@contextmanager
def _cluster(*cpus: int) -> Iterator[Any]:
    """A local Ray cluster of one node per entry of ``cpus`` (the first is the head)."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # another module's local Ray; this test needs its own clusters
        ray.shutdown()
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": cpus[0], "include_dashboard": False}
    )
    try:
        for n in cpus[1:]:
            cluster.add_node(num_cpus=n)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def _search(
    cluster: Any, config: SearchConfig, monkeypatch: pytest.MonkeyPatch
) -> tuple[SearchResult, list[FrozenTrial]]:
    """``run_search`` joining ``cluster`` through ``RAY_ADDRESS``, and the study's trials."""
    import ray

    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    result = run_search(config, stream=io.StringIO())
    assert not ray.is_initialized(), "run_search leaves the Ray it joined"
    study = optuna.load_study(study_name="multinode", storage=f"sqlite:///{config.search.storage}")
    return result, study.trials


def _node_ids(cluster: Any) -> set[str]:
    return {cluster.head_node.node_id, *(node.node_id for node in cluster.worker_nodes)}


def _check_weights(config: SearchConfig, trials: list[FrozenTrial]) -> None:
    """Every COMPLETE trial's ``model.pt`` is in the study's artifact store and loads."""
    store = artifact_store(f"sqlite:///{config.search.storage}", config.search.artifacts)
    for trial in trials:
        if trial.state != TrialState.COMPLETE:
            continue
        assert "reused_from" not in trial.user_attrs, "every trial trained its own spec"
        with store.open_reader(trial.user_attrs["checkpoint_artifact"]) as reader:
            weights = torch.load(io.BytesIO(reader.read()), weights_only=True)
        assert weights and all(isinstance(w, torch.Tensor) for w in weights.values())


def _table(trials: list[FrozenTrial]) -> list[tuple[int, str, str, int, list[float] | None]]:
    """What a seeded search must reproduce on any cluster: per trial, its state and spec id,
    its MACs and its objective values (signal, MACs)."""
    return [
        (t.number, t.state.name, t.user_attrs["spec_id"], t.user_attrs["macs"], t.values)
        for t in trials
    ]


def _front(result: SearchResult) -> list[tuple[int, str | None, float, float]]:
    return [(m.number, m.spec_id, m.macs, m.proxy_accuracy) for m in result.front.members]


@pytest.mark.slow
def test_search_on_two_nodes_matches_one_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_banded_fashion_mnist(tmp_path / "idx", n=200)
    with _cluster(2) as cluster:
        alone = _config(tmp_path / "one", data)
        one, one_trials = _search(cluster, alone, monkeypatch)
        one_nodes = {t.user_attrs.get(NODE_ATTR) for t in one_trials}
        assert one_nodes == _node_ids(cluster), f"each trial's {NODE_ATTR!r} user attr: its node"
    shared = tmp_path / "shared" / "tune"  # created by the search, and kept
    with _cluster(1, 1) as cluster:
        spread = _config(tmp_path / "two", data, storage_path=shared)
        two, two_trials = _search(cluster, spread, monkeypatch)
        nodes = _node_ids(cluster)
    assert len(nodes) == 2
    trained_on = [t.user_attrs.get(NODE_ATTR) for t in two_trials]
    assert set(trained_on) == nodes, f"trials on {trained_on}, cluster nodes {nodes}"
    assert two.counts == one.counts == {"COMPLETE": 4}, [
        t.user_attrs.get("fail_reason") for t in two_trials
    ]
    _check_weights(spread, two_trials)
    _check_weights(alone, one_trials)
    assert _table(two_trials) == _table(one_trials), "seeded CPU training is deterministic"
    assert _front(two) == _front(one) and _front(two)
    assert (shared / "multinode").is_dir(), "Tune's working folder is kept at storage_path"


def test_storage_path_is_checked_when_the_config_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def storage_path(value: object) -> str | None:
        raw = {"resources": {"storage_path": value}, "confirm": {"after_search": False}}
        return SearchConfig.from_dict(raw).resources.storage_path

    assert SearchConfig.from_dict({}).resources.storage_path is None, "default: a temporary one"
    monkeypatch.chdir(tmp_path)
    assert storage_path("tune/work") == str(tmp_path / "tune" / "work"), "made absolute"
    assert storage_path("s3://bucket/nas") == "s3://bucket/nas", "a URI is Ray's to resolve"
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ValueError, match=r"^resources\.storage_path: .* is not a writable folder"):
        storage_path("file/tune")
    with pytest.raises(ValueError, match=r"^resources\.storage_path: expected a non-empty"):
        storage_path("")
