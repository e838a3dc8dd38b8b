"""What ``nas search`` says when its driver fails: the failing part named, what to do, one line.

The exceptions are real ones, raised by the real libraries (a SQLite file that cannot be
opened, an Optuna storage error, a Ray error), and wrapped the way Ray Tune re-raises what a
searcher raised. The end-to-end case (a sampler that breaks mid-search, exit 1, nothing lost)
is ``test_search_defaults.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.search.trials import SamplerError
from nas.search.tuner import RESUME, describe


def _raised(error: BaseException, wrapper: type[BaseException] | None = None) -> BaseException:
    """``error`` as Tune hands it back: raised, optionally re-raised inside ``wrapper``."""
    try:
        try:
            raise error
        except BaseException as inner:
            if wrapper is None:
                raise
            raise wrapper("The Ray Tune run failed.") from inner
    except BaseException as outer:
        return outer


def test_a_sampler_error_inside_a_tune_error_names_the_sampler() -> None:
    from ray.tune.error import TuneError

    error = _raised(SamplerError("tpe", RuntimeError("bad split\nsecond line")), TuneError)
    what, advice = describe(error)
    assert what == "sampler 'tpe' failed: RuntimeError: second line"
    assert "--sampler" in advice and advice.endswith(RESUME)


def test_a_database_error_names_the_storage(tmp_path: Path) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path}/missing/dir/nas.db")
    with pytest.raises(sqlalchemy.exc.OperationalError) as raised:
        engine.connect()
    what, advice = describe(_raised(raised.value))
    assert what.startswith("storage failed: OperationalError: ")
    assert "unable to open database file" in what
    assert "database is reachable" in advice


def test_an_optuna_storage_error_names_the_storage() -> None:
    import optuna

    what, _ = describe(_raised(optuna.exceptions.StorageInternalError("commit failed")))
    assert what == "storage failed: StorageInternalError: commit failed"


def test_a_ray_error_names_ray() -> None:
    from ray.exceptions import RaySystemError

    what, advice = describe(_raised(RaySystemError("the raylet died")))
    assert what.startswith("Ray failed: RaySystemError: ") and "raylet died" in what
    assert "ray status" in advice


def test_anything_else_is_the_driver_with_its_last_line() -> None:
    what, advice = describe(_raised(KeyError("spec")))
    assert what == "the search driver failed: KeyError: 'spec'" and "--verbose" in advice
