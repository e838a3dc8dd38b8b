"""``StudyHandle``: the study a search drives, in a form Ray Tune can pickle.

Ray Tune pickles its search algorithm and scheduler when a ``Tuner`` is created (``tuner.pkl``,
for ``Tuner.restore``). Both need the study, and an Optuna ``Study`` holds its sampler, which
may hold a thread lock (Optuna 5.1's ``NSGAIISampler`` does: ``TypeError: cannot pickle
'_thread.lock' object``, issue #10). So the searcher and the scheduler hold this handle
instead: it pickles as the recipe (config, storage URL, proxy epochs) and opens the study again,
sampler and pruner included, on first use after unpickling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from nas.config import SearchConfig


class StudyHandle:
    """The study of ``config`` in the storage at ``url``, opened once per process.

    Args:
        config: the search's resolved config (names the study, sampler and pruner).
        url: the storage URL (``storage.normalize_url`` form).
        epochs: the proxy's epochs, the pruner's ``max_resource``.
        study: the study already open in this process, if any.
    """

    def __init__(
        self,
        config: SearchConfig,
        url: str,
        epochs: int | None,
        study: optuna.Study | None = None,
    ) -> None:
        self.config, self.url, self.epochs = config, url, epochs
        self._study = study

    @property
    def study(self) -> optuna.Study:
        if self._study is None:
            self._study = self.open()
        return self._study

    def open(self) -> optuna.Study:
        """Load the (existing) study with the config's sampler and pruner."""
        import optuna

        from nas.search.strategies import pruner_for, sampler_for
        from storage import open_storage

        return optuna.load_study(
            study_name=self.config.search.study,
            storage=open_storage(self.url),
            sampler=sampler_for(self.config),
            pruner=pruner_for(self.config, self.epochs),
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_study": None}
