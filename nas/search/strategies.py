"""The sampler and the pruner a search config asks for, built from their registries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

    from nas.config import SearchConfig


def sampler_for(config: SearchConfig) -> optuna.samplers.BaseSampler:
    """``[search] sampler`` seeded with ``[search] seed``, with the ``[sampler]`` options."""
    from nas.sampling import make_sampler

    return make_sampler(config.search.sampler, seed=config.search.seed, **config.sampler)


def pruner_for(config: SearchConfig, epochs: int | None) -> optuna.pruners.BasePruner:
    """``[search] pruner`` with the ``[pruner]`` options; ``max_resource`` defaults to ``epochs``.

    The proxy's epochs are the pruner's ``max_resource``: nothing is pruned at the last epoch,
    where stopping saves nothing and only drops a trained model from the front.
    """
    from nas.pruning import make_pruner

    options = dict(config.pruner)
    if epochs is not None:
        options.setdefault("max_resource", epochs)
    return make_pruner(config.search.pruner, **options)
