"""What ``nas dashboard`` serves large studies through (:mod:`nas.commands._dashboard_app`)."""

from __future__ import annotations

import gzip
import json
import urllib.request
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from nas.commands import _dashboard_app
from nas.commands._dashboard_app import FinishedTrials, gzipped
from storage import open_storage
from tests.nas.dashboard import POINTS, serving, write_study

BLOCK = CategoricalDistribution(["none", "se", "eca"])


def _finished(study: optuna.Study, n: int) -> None:
    study.add_trials(
        [
            create_trial(
                state=TrialState.COMPLETE,
                values=[0.5 + i / 1000, 1e6 + i],
                params={"s0.block": "se"},
                distributions={"s0.block": BLOCK},
                intermediate_values={1: 0.4, 2: 0.5},
            )
            for i in range(n)
        ]
    )


def _same(view: FinishedTrials, study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    seen = view.get_all_trials(study._study_id, deepcopy=False)
    assert seen == study.get_trials(deepcopy=False)
    return seen


def test_reads_a_finished_trial_once_and_follows_the_rest(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    _finished(study, 3)
    running = study.ask({"s0.block": BLOCK})
    view = FinishedTrials(storage)
    first = _same(view, study)
    running.set_user_attr("epochs_trained", 1)  # a running trial changes: it is read again
    storage.set_trial_intermediate_value(running._trial_id, 1, 0.3)
    second = _same(view, study)
    assert all(a is b for a, b in zip(first[:3], second[:3], strict=True))  # cached
    assert second[3].intermediate_values == {1: 0.3}
    study.tell(running, [0.6, 2e6])  # it finishes, others arrive, one runs
    _finished(study, 2)
    later = study.ask({"s0.block": BLOCK})
    third = _same(view, study)
    assert [t.state for t in third[3:]] == [TrialState.COMPLETE] * 3 + [TrialState.RUNNING]
    assert third[6].number == later.number
    only = view.get_all_trials(study._study_id, states=(TrialState.RUNNING,))
    assert [t.number for t in only] == [later.number]
    assert only[0] is not third[6]  # deepcopy by default, as every storage does


def test_many_new_trials_are_read_at_once(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(_dashboard_app, "_ONE_BY_ONE", 2)
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    view = FinishedTrials(storage)
    _same(view, study)
    _finished(study, 5)
    assert len(_same(view, study)) == 5
    other = optuna.create_study(storage=storage, study_name="other")
    assert [s._study_id for s in view.get_all_studies()] == [study._study_id, other._study_id]
    view.delete_study(study._study_id)
    assert optuna.get_all_study_names(storage) == ["other"]


def test_json_is_compressed_for_a_client_that_accepts_it() -> None:
    payload = json.dumps({"trials": ["x" * 100] * 50}).encode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        kind = "text/html" if environ["PATH_INFO"] == "/page" else "application/json"
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(payload)))])
        return [payload]

    def call(path: str, accept: str) -> tuple[dict[str, str], bytes]:
        got: dict[str, str] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            got.update(headers)
            return None

        environ = {"PATH_INFO": path, "HTTP_ACCEPT_ENCODING": accept}
        return got, b"".join(gzipped(app)(environ, start))

    headers, body = call("/api", "gzip, deflate")
    assert headers["Content-Encoding"] == "gzip" and int(headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == payload and len(body) < len(payload) / 10
    assert call("/api", "") == (
        {"Content-Type": "application/json", "Content-Length": str(len(payload))},
        payload,
    )
    assert call("/page", "gzip")[1] == payload


def test_the_dashboard_sends_the_study_page_compressed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study_id = write_study(url)
    with serving(url, tmp_path) as base:
        request = urllib.request.Request(
            f"{base}/api/studies/{study_id}", headers={"Accept-Encoding": "gzip"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.headers["Content-Encoding"] == "gzip"
            detail = json.loads(gzip.decompress(reply.read()))
    assert len(detail["trials"]) == len(POINTS)
    assert len(detail["best_trials"]) == 3
