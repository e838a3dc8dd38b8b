"""What ``nas search`` lets Ray print: Tune's experiment-state copy errors only with --verbose."""

from __future__ import annotations

import logging
import os

import pytest

from nas.search.tuner import QUIET_LOGGERS, quiet_ray


@pytest.mark.parametrize("verbose", [False, True])
def test_experiment_state_errors_only_with_verbose(
    verbose: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # quiet_ray sets variables
    (name,) = QUIET_LOGGERS
    logger = logging.getLogger(name)
    monkeypatch.setattr(logger, "level", logger.level)
    quiet_ray(verbose)
    assert logger.isEnabledFor(logging.ERROR) is verbose
