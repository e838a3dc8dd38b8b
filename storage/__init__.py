"""Everything SQL: the Optuna storage behind a URL, artifacts beside it, and read queries.

``storage`` imports none of this project's packages, only Optuna and SQLAlchemy (and the
PostgreSQL driver when a URL needs it); ``nas`` builds on it.
"""

from __future__ import annotations

from storage.artifacts import artifact_store, artifacts_dir_for
from storage.backends import BACKENDS, open_storage
from storage.urls import (
    default_storage_url,
    normalize_url,
    redact,
    resolve_url,
    storage_argument,
)

__all__ = [
    "BACKENDS",
    "artifact_store",
    "artifacts_dir_for",
    "default_storage_url",
    "normalize_url",
    "open_storage",
    "redact",
    "resolve_url",
    "storage_argument",
]
