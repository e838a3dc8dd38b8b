"""What a resumed study may change in ``[proxy]``: how a trial runs, never what it means."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from nas.config import SearchConfig
from nas.search.study import check_same_meaning
from workers.budget import ProxyBudget


def _study_made_before_compile_existed() -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    stored = SearchConfig().to_dict()
    del stored["proxy"]["compile"]
    study.set_user_attr("config", stored)
    return study


def test_device_and_compile_may_change_on_resume() -> None:
    config = dataclasses.replace(SearchConfig(), proxy=ProxyBudget(device="cuda", compile=True))
    check_same_meaning(_study_made_before_compile_existed(), config)


def test_a_proxy_field_that_changes_the_result_is_still_refused() -> None:
    config = dataclasses.replace(SearchConfig(), proxy=ProxyBudget(epochs=4))
    with pytest.raises(ValueError, match=r"proxy\.epochs = 3, this config has 4"):
        check_same_meaning(_study_made_before_compile_existed(), config)
