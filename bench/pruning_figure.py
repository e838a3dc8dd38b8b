"""Draw ``docs/img/pruning-rungs.png``: one simulated rung, Pareto pruning vs accuracy-only.

Simulated, not measured: 27 trials with MACs log-uniform in [0.3, 4.5] G and a rung accuracy
that rises with log-MACs plus Gaussian noise (seeded). Left: who survives the rung under the
Pareto pruner (non-dominated front, then crowding distance; top ``ceil(27/3) = 9``). Right: who
survives accuracy-only successive halving (top 9 by accuracy). Run by hand::

    .venv/bin/python bench/pruning_figure.py [--out docs/img/pruning-rungs.png] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from nas.pruning import survivors
from nas.results.pareto import nondominated_ranks

ACC_MACS = ["maximize", "minimize"]


def simulated_rung(n: int, seed: int) -> np.ndarray:
    """``(n, 2)`` rows of (accuracy at the rung, MACs)."""
    rng = np.random.default_rng(seed)
    macs = np.exp(rng.uniform(np.log(0.3e9), np.log(4.5e9), n))
    accuracy = 0.62 + 0.06 * np.log(macs / 0.3e9) + rng.normal(0.0, 0.025, n)
    return np.column_stack([accuracy, macs])


def accuracy_survivors(values: np.ndarray, reduction_factor: int) -> np.ndarray:
    keep = -(-len(values) // reduction_factor)
    mask = np.zeros(len(values), dtype=bool)
    mask[np.argsort(-values[:, 0], kind="stable")[:keep]] = True
    return mask


def draw(values: np.ndarray, reduction_factor: int, out: Path) -> None:
    ranks = nondominated_ranks(values, ACC_MACS)
    panels = [
        ("Pareto pruner (fronts, then crowding)", survivors(values, ACC_MACS, reduction_factor)),
        ("accuracy-only successive halving", accuracy_survivors(values, reduction_factor)),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    front = values[ranks == 0]
    front = front[np.argsort(front[:, 1])]
    for ax, (title, kept) in zip(axes, panels):
        ax.step(front[:, 1] / 1e9, front[:, 0], where="post", color="0.6", lw=1, label="rung front")
        ax.scatter(values[kept, 1] / 1e9, values[kept, 0], c="tab:blue", label="continues")
        ax.scatter(
            values[~kept, 1] / 1e9,
            values[~kept, 0],
            facecolors="none",
            edgecolors="tab:red",
            label="pruned",
        )
        on_front_pruned = int((~kept & (ranks == 0)).sum())
        ax.set_title(f"{title}\nrung front members pruned: {on_front_pruned}", fontsize=10)
        ax.set_xscale("log")
        ax.set_xticks([0.3, 0.5, 1, 2, 4], labels=["0.3", "0.5", "1", "2", "4"])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("MACs (G, log scale)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy at the rung")
    axes[0].legend(loc="lower right", fontsize=8)
    n = len(values)
    fig.suptitle(f"One rung, {n} trials, reduction factor {reduction_factor} (simulated)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/pruning-rungs.png"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=27)
    parser.add_argument("--reduction-factor", type=int, default=3)
    args = parser.parse_args()
    draw(simulated_rung(args.trials, args.seed), args.reduction_factor, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
