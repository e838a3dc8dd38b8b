"""The ``nas search`` job: Optuna proposes and prunes, Ray Tune trains, SQL keeps everything.

``run_search(config) -> SearchResult`` (:mod:`nas.search.run`); the study it writes is
described in ``docs/study-format.md``.
"""

from __future__ import annotations

from nas.search.run import SearchFailed, SearchResult, run_search

__all__ = ["SearchFailed", "SearchResult", "run_search"]
