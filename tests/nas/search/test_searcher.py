"""The Optuna side of ``nas search`` without Ray: searcher ask/tell, dedup, resume, references.

Real Optuna studies in real SQLite files; Ray's callbacks are called the way Tune calls them.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.artifacts import download_artifact
from optuna.trial import TrialState
from ray.tune import Checkpoint

from nas.config import SearchConfig
from nas.objectives import OBJECTIVES, register_objective
from nas.search.ledger import finished_count
from nas.search.ownership import Ownership
from nas.search.searcher import StudySearcher
from nas.search.study import StudyHandle, prepare_study
from nas.search.trials import INTERRUPTED
from nas.space import SearchSpace
from searchspace.cost import count_cost
from storage import artifact_store, open_storage
from tests.nas.search.drivers import dead_pid, own_as
from tests.nas.search.searcher_setup import NONE, SHAPE, TINY, _final, _setup
from workers.trainable import RESUME_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)
SE = {**NONE, "s2.block": "se", "s2.se.ratio": 8, "s2.se.position": "branch", "s2.se.blocks": "all"}
SE1 = {
    **NONE,
    "s1.block": "se",
    "s1.se.ratio": 8,
    "s1.se.position": "branch",
    "s1.se.blocks": "all",
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nas.db'}"


def test_references_first_then_complete_with_values(url: str, tmp_path: Path) -> None:
    study, searcher = _setup(url)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.user_attrs["reference"] for t in waiting] == ["no_attention", "se_branch"]
    config = searcher.suggest("ray-1")
    assert config is not None and set(config) == {"spec", "data", "budget", RESUME_KEY}
    assert config["data"] == {"dataset": "fashion_mnist"} and config["budget"] == {"epochs": 2}
    trial = study.trials[0]
    assert trial.state == TrialState.RUNNING and trial.user_attrs["reference"] == "no_attention"
    assert trial.user_attrs["spec"] == config["spec"]
    assert trial.user_attrs["macs"] == count_cost(searcher.ledger.flying["ray-1"].spec).macs
    weights = tmp_path / "ckpt"
    weights.mkdir()
    (weights / "model.pt").write_bytes(b"weights")
    searcher.ledger.flying["ray-1"].checkpoint = Checkpoint(str(weights))
    searcher.on_trial_complete("ray-1", _final(0.75))
    done = study.trials[0]
    assert done.state == TrialState.COMPLETE
    assert done.values == [0.75, float(done.user_attrs["macs"])]
    assert done.intermediate_values == {2: 0.75}
    assert done.user_attrs["epochs_trained"] == 2 and done.user_attrs["wall_time_s"] == 1.5
    assert done.user_attrs["proxy"] == {"epochs": 2, "width": 0.5}
    copy = tmp_path / "copy.pt"
    download_artifact(
        artifact_store=artifact_store(url),
        artifact_id=done.user_attrs["checkpoint_artifact"],
        file_path=str(copy),
    )
    assert copy.read_bytes() == b"weights"


def test_equivalent_spec_is_reused_not_trained(url: str) -> None:
    study, searcher = _setup(url, trials=4)
    searcher.suggest("ray-1")
    searcher.on_trial_complete("ray-1", _final(0.6))
    searcher.suggest("ray-2")
    searcher.on_trial_complete("ray-2", _final(0.7))
    study.enqueue_trial(NONE)
    study.enqueue_trial(study.trials[1].params)
    assert searcher.suggest("ray-3") == "FINISHED", "two reused trials fill the budget of 4"
    trials = study.trials
    assert len(trials) == 4 and [t.user_attrs["reused_from"] for t in trials[2:]] == [0, 1]
    for trial in trials[2:]:
        source = trials[trial.user_attrs["reused_from"]]
        assert trial.state == TrialState.COMPLETE and trial.values == source.values
        assert trial.user_attrs["spec_id"] == source.user_attrs["spec_id"]
        assert trial.user_attrs["macs"] == source.user_attrs["macs"]
        assert trial.user_attrs["params"] == source.user_attrs["params"]
        assert "epochs_trained" not in trial.user_attrs
    assert not searcher.ledger.flying and searcher.ledger.tally.reused == 2


def test_fail_pruned_and_interrupted(url: str) -> None:
    study, searcher = _setup(url, trials=6)
    # a and b draw the references; c and d two other specs (one spec drawn twice would wait)
    for name, params in zip("abcd", (SE, SE1, SE, SE1), strict=True):
        study.enqueue_trial(params)
        searcher.suggest(name)
    searcher.on_trial_complete("a", {"error": "diverged: loss is nan at epoch 1", "done": True})
    searcher.ledger.flying["b"].error = "RuntimeError: boom"
    searcher.on_trial_complete("b", None, error=True)
    searcher.ledger.flying["c"].pruned = True
    searcher.on_trial_complete("c", {"epoch": 1, searcher.signal: 0.3})
    searcher.on_trial_complete("d", {"epoch": 1, searcher.signal: 0.4})
    a, b, c, d = study.trials[:4]
    assert a.state == TrialState.FAIL and a.user_attrs["fail_reason"].startswith("diverged")
    assert b.state == TrialState.FAIL and b.user_attrs["fail_reason"] == "RuntimeError: boom"
    assert c.state == TrialState.PRUNED and c.intermediate_values == {1: 0.3}
    assert d.state == TrialState.FAIL and d.user_attrs["fail_reason"] == INTERRUPTED
    assert d.params == SE1
    requeued = study.get_trials(states=(TrialState.WAITING,))[-1]
    assert requeued.system_attrs["fixed_params"] == SE1
    assert requeued.user_attrs["requeued_from"] == d.number
    assert searcher.ledger.tally.failed == 2 and searcher.ledger.tally.pruned == 1
    assert searcher.ledger.tally.interrupted == 1
    assert finished_count(study) == 3, "an interrupted trial is retried, so it does not count"


def test_finished_when_the_budget_is_reached(url: str) -> None:
    study, searcher = _setup(url, trials=2)
    assert searcher.suggest("a") is not None
    assert searcher.suggest("b") is not None
    assert searcher.suggest("c") == "FINISHED", "2 in flight already fill a budget of 2"
    searcher.on_trial_complete("a", _final(0.5))
    assert searcher.suggest("d") == "FINISHED"
    assert finished_count(study) == 1


def test_resume_fails_running_and_requeues_once(url: str) -> None:
    _, searcher = _setup(url, trials=4)
    searcher.suggest("a")
    searcher.suggest("b")
    searcher.on_trial_complete("a", _final(0.5))
    # the driver is killed: b names (owned at ask) a process of this host that is gone
    own_as(searcher.ownership, searcher.ledger.flying["b"].trial, socket.gethostname(), dead_pid())
    _, again = _setup(url, trials=4)
    trials = again.study.trials
    assert trials[0].state == TrialState.COMPLETE
    assert trials[1].state == TrialState.FAIL
    assert trials[1].user_attrs["fail_reason"] == INTERRUPTED
    waiting = again.study.get_trials(states=(TrialState.WAITING,))
    assert [w.user_attrs.get("reference") for w in waiting] == ["se_branch"]
    assert waiting[0].system_attrs["fixed_params"] == trials[1].params
    assert waiting[0].user_attrs["requeued_from"] == 1
    assert len(trials) == 3, "references are queued once per study, not per run"
    assert Ownership(url, again.study.study_name).requeue_orphans(settle=True) == 0


def test_interrupt_all_fails_and_requeues_in_flight(url: str) -> None:
    study, searcher = _setup(url, trials=4)
    searcher.suggest("a")
    searcher.suggest("b")
    searcher.on_trial_complete("a", _final(0.5))
    assert searcher.interrupt_all() == 1
    assert searcher.interrupt_all() == 0
    b = study.trials[1]
    assert b.state == TrialState.FAIL and b.user_attrs["fail_reason"] == INTERRUPTED
    (again,) = [t for t in study.trials if t.user_attrs.get("requeued_from") == 1]
    assert again.state == TrialState.WAITING and again.user_attrs["reference"] == "se_branch"


def test_resuming_with_another_space_is_refused(url: str) -> None:
    _setup(url)
    config = SearchConfig.from_dict(
        {"space": {**TINY["space"], "selectors": ["last"]}, "search": {"pruner": "none"}}
    )
    space = SearchSpace(config.space, **SHAPE)
    with pytest.raises(ValueError, match=r"searched over another space \(s0\.se\.blocks differs"):
        prepare_study(config, open_storage(url), space)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"proxy": {"epochs": 0}}, r"^proxy\.epochs: expected an integer >= 1"),
        ({"proxy": {"epochz": 2}}, r"^proxy\.epochz: unknown key; allowed: epochs, "),
        ({"data": {"dataset": "mnist"}}, r"^data\.dataset: unknown 'mnist'; allowed: "),
    ],
)
def test_bad_data_or_proxy_is_refused_when_the_config_is_read(
    tmp_path: Path, section: dict[str, Any], message: str
) -> None:
    database = tmp_path / "nas.db"
    with pytest.raises(ValueError, match=message):
        SearchConfig.from_dict({**section, "search": {"storage": str(database)}})
    assert not database.exists()


def test_a_spec_whose_objective_cannot_be_measured_is_failed_not_fatal(url: str) -> None:
    @register_objective("fragile", direction="minimize", about="raises on SE")
    def fragile(spec: Any) -> float:
        if spec.stages[2].block == "se":
            raise RuntimeError("shape mismatch in se")
        return 1.0

    try:
        study, searcher = _setup(url, trials=4, extra=["fragile"])
        assert searcher.suggest("a") is not None  # no_attention
        assert searcher.suggest("b") is not None  # se_branch fails; another draw (or FINISHED)
    finally:
        OBJECTIVES.unregister("fragile")
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed and failed[0].user_attrs["reference"] == "se_branch"
    reason = failed[0].user_attrs["fail_reason"]
    assert reason == "measuring fragile failed: RuntimeError: shape mismatch in se"


def test_a_registered_objective_runs_through_the_config(url: str) -> None:
    """One entry in ``nas.objectives`` is the whole of a new objective: accepted by
    ``[objectives] extra``, its direction on the study, its value on every trial."""

    @register_objective("attended", direction="maximize", about="stages with a block")
    def attended(spec: Any) -> float:
        return float(sum(stage.block != "none" for stage in spec.stages))

    try:
        study, searcher = _setup(url, trials=4, extra=["attended"])
        assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE", "MAXIMIZE"]
        assert study.metric_names == ["neg_tail_loss", "macs", "attended"]
        for key in ("a", "b"):
            assert searcher.suggest(key) is not None
            searcher.on_trial_complete(key, _final(0.5))
    finally:
        OBJECTIVES.unregister("attended")
    with pytest.raises(ValueError, match=r"objectives.extra\[0\]: 'attended' is not allowed"):
        SearchConfig.from_dict({"objectives": {"extra": ["attended"]}})
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert [t.values[2] for t in trials] == [0.0, 3.0]  # no_attention, SE in all 3 stages
    assert all(t.user_attrs["attended"] == t.values[2] for t in trials)


def test_extra_objectives_params_and_latency(url: str) -> None:
    config = SearchConfig.from_dict(
        {**TINY, "search": {"pruner": "none"}, "objectives": {"extra": ["params", "latency_ms"]}}
    )
    space = SearchSpace(config.space, **SHAPE)
    study, _ = prepare_study(config, open_storage(url), space)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE", "MINIMIZE", "MINIMIZE"]
    assert study.metric_names == ["neg_tail_loss", "macs", "params", "latency_ms"]
    searcher = StudySearcher(
        StudyHandle(config, url, None, study),
        space,
        data={},
        budget={},
        target=2,
        artifacts=None,
    )
    searcher.suggest("a")
    searcher.on_trial_complete("a", _final(0.5))
    trial = study.trials[0]
    assert trial.values[2] == trial.user_attrs["params"]
    assert trial.values[3] == trial.user_attrs["latency_ms"] > 0


def test_a_checkpoint_on_a_remote_filesystem_is_uploaded_and_its_local_copy_removed(
    url: str, tmp_path: Path
) -> None:
    """With ``storage_path`` on ``s3://`` & co. Tune's checkpoint is not a local folder: its
    weights are fetched to a temporary one for the upload, which is gone afterwards."""
    import pyarrow.fs

    study, searcher = _setup(url)
    searcher.suggest("ray-1")
    (tmp_path / "bucket" / "ckpt").mkdir(parents=True)
    (tmp_path / "bucket" / "ckpt" / "model.pt").write_bytes(b"remote weights")
    remote_fs = pyarrow.fs.SubTreeFileSystem(str(tmp_path / "bucket"), pyarrow.fs.LocalFileSystem())
    remote = Checkpoint("ckpt", filesystem=remote_fs)
    searcher.ledger.flying["ray-1"].checkpoint = remote
    searcher.on_trial_complete("ray-1", _final(0.75))
    copy = tmp_path / "copy.pt"
    download_artifact(
        artifact_store=artifact_store(url),
        artifact_id=study.trials[0].user_attrs["checkpoint_artifact"],
        file_path=str(copy),
    )
    assert copy.read_bytes() == b"remote weights"
    assert not Path(remote._get_temporary_checkpoint_dir()).exists(), "the fetched copy is gone"
