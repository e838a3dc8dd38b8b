"""Storage backends every contract test runs against: a SQLite file, and PostgreSQL when
``NAS_TEST_POSTGRES_URL`` is set (``.ci/services/postgres.sh`` sets it in CI)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

POSTGRES_ENV = "NAS_TEST_POSTGRES_URL"


def _postgres_param() -> object:
    url = os.environ.get(POSTGRES_ENV, "")
    marks = [pytest.mark.postgres]
    if not url:
        reason = os.environ.get("NAS_TEST_POSTGRES_SKIP_REASON") or f"{POSTGRES_ENV} is not set"
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(url, id="postgres", marks=marks)


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"), _postgres_param()])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL with no studies of this test's yet (PostgreSQL is shared: use study_name)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results' / 'nas.db'}"
    return str(request.param)


@pytest.fixture
def study_name() -> str:
    """A study name no other test uses (PostgreSQL databases outlive a test)."""
    return f"test-{uuid.uuid4().hex[:12]}"
