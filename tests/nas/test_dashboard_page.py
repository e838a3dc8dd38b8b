"""The study page ``nas dashboard`` builds itself (:mod:`nas.commands._dashboard_page`) is
optuna-dashboard's own answer for the same study: that equality is what makes it safe.

Each comparison asks a fresh optuna-dashboard app (no cache of its own) on the same real
SQLite study, with every kind of parameter, attribute, state, note and artifact the page shows,
while the study changes. Search-space choices are compared as sets: optuna-dashboard's order
is a Python set's, random per process.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState, create_trial
from optuna_dashboard import save_note, wsgi

from nas.commands._dashboard_page import StudyPages
from storage import open_storage
from tests.nas.dashboard import serving

SPACE = {
    "block": CategoricalDistribution(["none", "se", "eca"]),
    "kernel": CategoricalDistribution([3, 5, 7]),
    "odd": CategoricalDistribution([None, True, 1.5, "a"]),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "drop": FloatDistribution(0.0, 0.5, step=0.1),
    "depth": IntDistribution(1, 8),
    "width": IntDistribution(16, 64, step=16),
}
WIDER = {
    "block": CategoricalDistribution(["none", "se", "eca"]),
    "lr": FloatDistribution(1e-5, 1.0, log=True),  # a wider range: the union widens
    "drop": FloatDistribution(0.0, 0.5, step=0.05),  # another step: a second "drop" entry
    "width": IntDistribution(8, 128, step=8),
}
ATTRS: dict[str, Any] = {
    "text": 'résumé "quoted" \\ / \n',
    "count": 3,
    "ratio": 0.25,
    "flag": True,
    "nothing": None,
    "spec": {"stages": [{"block": "se"}, {}], "width": 0.5},
    "list": [1, "x", None],
    "long": {"x": "y" * 2000},
    "inf": math.inf,
}


def stock_page(storage: optuna.storages.BaseStorage, study_id: int, after: int = 0) -> Any:
    """optuna-dashboard's own ``GET /api/studies/<id>``, from an app with nothing cached."""
    app = wsgi(storage)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/api/studies/{study_id}",
        "QUERY_STRING": f"after={after}" if after else "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    assert status == ["200 OK"], body[:500]
    return json.loads(body)


def normal(page: Any) -> Any:
    """``page`` with search-space entries and their choices in one order."""
    for key in ("union_search_space", "intersection_search_space"):
        for entry in page[key]:
            entry["distribution"].get("choices", []).sort(key=json.dumps)
        page[key].sort(key=json.dumps)
    return page


def same_as_stock(pages: StudyPages, storage: Any, study_id: int, after: int = 0) -> Any:
    ours = json.loads(gzip.decompress(pages.gzipped(study_id, after) or b""))
    names = [entry["name"] for entry in ours["union_search_space"]]
    assert names == sorted(names)
    assert normal(ours) == normal(stock_page(storage, study_id, after))
    assert normal(json.loads(pages.json(study_id, after) or b"")) == ours
    return ours


def finished(i: int, distributions: dict[str, Any], **kwargs: Any) -> optuna.trial.FrozenTrial:
    params = {
        name: d.choices[i % len(d.choices)] if isinstance(d, CategoricalDistribution) else d.high
        for name, d in distributions.items()
    }
    return create_trial(
        params=params,
        distributions=distributions,
        user_attrs={**ATTRS, "count": i},
        intermediate_values={1: 0.1 * i, 2: math.nan, 3: -math.inf},
        **{"state": TrialState.COMPLETE, "values": [0.5 + 0.01 * (i % 7), 1e6 - i], **kwargs},
    )


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    study = optuna.create_study(
        study_name="varied",
        storage=storage,
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.set_metric_names(["val_accuracy", "macs"])
    study.set_user_attr("config", {"trials": 40})
    study.add_trials([finished(i, SPACE) for i in range(12)])
    study.add_trial(finished(12, WIDER, system_attrs={"constraints": [0.5, -1.0]}))
    study.add_trial(finished(13, SPACE, state=TrialState.PRUNED, values=None))
    study.add_trial(
        finished(14, {"other": FloatDistribution(0, 1)}, state=TrialState.FAIL, values=None)
    )
    study.add_trial(finished(15, SPACE, values=[math.inf, 5.0]))
    return study


def test_the_page_is_optuna_dashboards_while_the_study_changes(
    study: optuna.Study, tmp_path: Path
) -> None:
    storage, study_id = study._storage, study._study_id
    pages = StudyPages(storage)
    first = same_as_stock(pages, storage, study_id)
    assert len(first["trials"]) == 16 and first["intersection_search_space"]
    assert pages.gzipped(study_id) is pages.gzipped(study_id)  # unchanged: from memory
    same_as_stock(pages, storage, study_id, after=10)

    running = study.ask(SPACE)  # params, an epoch, a note, an artifact while it runs
    storage.set_trial_intermediate_value(running._trial_id, 1, 0.3)
    same_as_stock(pages, storage, study_id)
    save_note(running, "# running\nfirst epoch done")
    artifacts = FileSystemArtifactStore(str(tmp_path))
    (tmp_path / "proxy.pt").write_bytes(b"weights")
    upload_artifact(
        artifact_store=artifacts, file_path=str(tmp_path / "proxy.pt"), study_or_trial=running
    )
    page = same_as_stock(pages, storage, study_id)
    assert page["trials"][-1]["note"]["body"] == "# running\nfirst epoch done"
    study.tell(running, [0.9, 2e6])
    study.enqueue_trial({"lr": 0.01})  # WAITING, with fixed parameters
    page = same_as_stock(pages, storage, study_id)
    assert [t["state"] for t in page["trials"][-2:]] == ["Complete", "Waiting"]
    assert page["trials"][-1]["fixed_params"] == [{"name": "lr", "param_external_value": "0.01"}]

    finished_trial = optuna.trial.Trial(study, study.trials[3]._trial_id)
    save_note(finished_trial, "a note on a finished trial")  # kept trial, new note
    save_note(study, "the study's note")
    upload_artifact(
        artifact_store=artifacts, file_path=str(tmp_path / "proxy.pt"), study_or_trial=study
    )
    legacy = {"artifact_id": "old", "filename": "old.txt", "mimetype": "text/plain"}
    storage.set_study_system_attr(
        study_id, f"dashboard:artifacts:{study.trials[5]._trial_id}:old", json.dumps(legacy)
    )
    page = same_as_stock(pages, storage, study_id)
    assert page["trials"][3]["note"]["body"] == "a note on a finished trial"
    assert page["trials"][5]["artifacts"] == [legacy]
    study.add_trials([finished(i, SPACE) for i in range(20, 25)])
    assert len(same_as_stock(pages, storage, study_id)["trials"]) == 23


def test_a_single_objective_study(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    study = optuna.create_study(study_name="one", storage=storage)
    pages = StudyPages(storage)
    assert same_as_stock(pages, storage, study._study_id)["best_trials"] == []
    for i in range(5):
        study.add_trial(finished(i, SPACE, values=[float(i % 3)]))
    assert len(same_as_stock(pages, storage, study._study_id)["best_trials"]) == 1
    assert pages.gzipped(study._study_id + 1) is None  # no such study: optuna-dashboard's 404


def test_nas_dashboard_serves_it_over_http(study: optuna.Study, tmp_path: Path) -> None:
    storage, study_id = study._storage, study._study_id
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    with serving(url, tmp_path) as base:
        for after, encoding in [(0, "gzip"), (0, "identity"), (7, "gzip")]:
            query = f"?after={after}" if after else ""
            request = urllib.request.Request(
                f"{base}/api/studies/{study_id}{query}", headers={"Accept-Encoding": encoding}
            )
            with urllib.request.urlopen(request, timeout=60) as reply:
                body = reply.read()
                if encoding == "gzip":
                    assert reply.headers["Content-Encoding"] == "gzip"
                    body = gzip.decompress(body)
            assert normal(json.loads(body)) == normal(stock_page(storage, study_id, after))
        study.add_trials([finished(i, SPACE) for i in range(30, 33)])  # a search goes on
        with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=60) as reply:
            assert len(json.loads(reply.read())["trials"]) == 19
        missing = urllib.request.Request(f"{base}/api/studies/{study_id + 9}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(missing, timeout=60)
        assert refused.value.code == 404


def test_a_study_made_anew_under_a_reused_id(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    old = optuna.create_study(study_name="again", storage=storage)
    old.add_trials([finished(i, SPACE, values=[1.0]) for i in range(3)])
    pages = StudyPages(storage)
    same_as_stock(pages, storage, old._study_id)
    storage.delete_study(old._study_id)  # and made anew before the page is asked again
    new = optuna.create_study(study_name="again", storage=storage)
    new.add_trials([finished(i, WIDER, values=[2.0]) for i in range(4)])
    assert new._study_id == old._study_id  # SQLite gave the ids again
    page = same_as_stock(pages, storage, new._study_id)
    assert {p["name"] for p in page["trials"][0]["params"]} == set(WIDER)


@pytest.mark.postgres
def test_on_postgresql_up_to_the_order_of_user_attributes() -> None:
    """On PostgreSQL Optuna's read leaves a trial's attribute order to the database (ours: by
    key); everything else is the same page."""
    url = os.environ.get("NAS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NAS_TEST_POSTGRES_URL is not set (.ci/services/postgres.sh sets it)")
    storage = open_storage(url)
    name = f"test-{uuid.uuid4().hex[:12]}"
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    try:
        study.add_trials([finished(i, SPACE) for i in range(6)])
        study.add_trial(finished(6, WIDER, state=TrialState.PRUNED, values=None))
        storage.set_trial_intermediate_value(study.ask(SPACE)._trial_id, 1, 0.3)
        pages = StudyPages(storage)
        ours = json.loads(gzip.decompress(pages.gzipped(study._study_id) or b""))
        assert by_key(normal(ours)) == by_key(normal(stock_page(storage, study._study_id)))
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def by_key(page: Any) -> Any:
    for trial in page["trials"] + page["best_trials"]:
        trial["user_attrs"].sort(key=lambda attr: attr["key"])
    page["union_user_attrs"].sort(key=lambda attr: attr["key"])
    return page
