"""The budgets a front member is confirmed with: the proxy's, scaled up, one per seed."""

from __future__ import annotations

from dataclasses import replace

from workers.budget import ProxyBudget


def confirm_budgets(
    proxy: ProxyBudget, *, scale: float, val_samples: int | None, seeds: int
) -> list[ProxyBudget]:
    """``seeds`` budgets with ``scale`` x the proxy's training images, at seeds ``proxy.seed + i``.

    The extra images go into a larger training subset (EcoNAS, Zhou et al., CVPR 2020: more
    samples rank better than more epochs at the same cost); when the proxy already trains on
    the whole split (``train_samples`` ``None``) they go into more epochs. Everything else (the
    width, the recipe, the warm-up share) stays the proxy's, so a confirmed value differs from
    the proxy's only by how much it has seen.
    """
    assert scale >= 1 and seeds >= 1, (scale, seeds)
    if proxy.train_samples is None:
        longer = replace(proxy, epochs=max(proxy.epochs, round(proxy.epochs * scale)))
    else:
        longer = replace(proxy, train_samples=round(proxy.train_samples * scale))
    longer = replace(longer, val_samples=val_samples)
    return [replace(longer, seed=proxy.seed + i) for i in range(seeds)]
