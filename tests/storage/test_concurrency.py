"""Two processes writing one study while a third reads it: no "database is locked"."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import optuna
import pytest

from storage import open_storage
from storage.queries import study_summaries, trial_table
from tests.storage._workers import read_until, write_trials

N_PER_WRITER = 30
"""With a 0.5 ms busy timeout instead of ours, this many trials fails with "database is locked"."""


@pytest.mark.slow  # three spawned Python processes importing Optuna: ~30 s on 2 cores
def test_concurrent_writers_and_reader(storage_url: str, study_name: str) -> None:
    storage = open_storage(storage_url)
    optuna.create_study(storage=storage, study_name=study_name, directions=["maximize", "minimize"])
    spawn = multiprocessing.get_context("spawn")  # real, separate processes and connections
    with ProcessPoolExecutor(max_workers=3, mp_context=spawn) as pool:
        reader = pool.submit(read_until, storage_url, study_name, 240.0, 2 * N_PER_WRITER)
        writers = [
            pool.submit(write_trials, storage_url, study_name, writer, N_PER_WRITER)
            for writer in (0, 1)
        ]
        errors = [w.result() for w in writers] + [reader.result()]
    assert errors == ["", "", ""], "\n".join(errors)

    rows = trial_table(storage, study_name)
    assert sorted(r.number for r in rows) == list(range(2 * N_PER_WRITER))
    assert all(r.state == "COMPLETE" and r.n_intermediate == 2 for r in rows)
    by_writer = {
        w: sorted(r.user_attrs["spec_id"] for r in rows if r.user_attrs["writer"] == w)
        for w in (0, 1)
    }
    assert by_writer[1] == sorted(f"1-{i}" for i in range(N_PER_WRITER))
    (summary,) = [s for s in study_summaries(storage) if s.name == study_name]
    assert summary.counts == {"COMPLETE": 2 * N_PER_WRITER}
