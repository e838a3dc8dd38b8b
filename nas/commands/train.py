"""``nas train SPEC.json``: train one spec's proxy on real data and print its metrics.

How a user checks a single candidate before (or after) a search: the same worker, budget and
data the search uses, without Optuna or Ray. The spec's ``in_channels``/``num_classes``/
``input_size`` may differ from the dataset's; the proxy adapts them and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nas.commands._io import read_spec

NAME = "train"
HELP = "train one spec's proxy on real data and print its validation accuracy"
ORDER = 25

_BUDGET_FLAGS = {
    "epochs": "epochs",
    "train_samples": "train_samples",
    "val_samples": "val_samples",
    "width": "width",
    "input_size": "input_size",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "lr": "lr",
    "seed": "seed",
    "device": "device",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from workers.budget import DEVICES, OPTIMIZER_DEFAULTS, ProxyBudget

    default = ProxyBudget()
    parser.add_argument("spec", help="spec JSON file ('-' for standard input)")
    parser.add_argument("--epochs", type=int, help=f"epochs (default {default.epochs})")
    parser.add_argument(
        "--dataset",
        default="fashion_mnist",
        help="fashion_mnist (default), cifar10, cifar100 or imagefolder",
    )
    parser.add_argument(
        "--data-dir",
        help="dataset files (default: $NAS_DATA_DIR, "
        "/usr/share/datasets/fashion-mnist, else torchvision's download)",
    )
    parser.add_argument(
        "--no-download", action="store_true", help="never let torchvision download missing files"
    )
    parser.add_argument(
        "--train-samples",
        type=int,
        help=f"training subset size (default {default.train_samples}; 0: all)",
    )
    parser.add_argument(
        "--val-samples",
        type=int,
        help=f"validation subset size (default {default.val_samples}; 0: all)",
    )
    parser.add_argument(
        "--width",
        type=float,
        help=f"proxy width multiplier (default {default.width}; 0: the spec's)",
    )
    parser.add_argument("--input-size", type=int, help="proxy resolution (default: the dataset's)")
    parser.add_argument("--batch-size", type=int, help=f"default {default.batch_size}")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZER_DEFAULTS), help="default sgd")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: per optimizer)")
    parser.add_argument("--seed", type=int, help="default 0")
    parser.add_argument("--device", choices=DEVICES, help="default auto")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: torch's; 1 on a busy machine, docs/performance.md)",
    )
    parser.add_argument("--no-augment", action="store_true", help="no random crop/flip")
    parser.add_argument("--save", metavar="DIR", help="write the last checkpoint (model.pt) here")
    parser.add_argument(
        "--json", action="store_true", help="print only the final metrics, as one JSON object"
    )


def budget_from_args(args: argparse.Namespace) -> Any:
    """The default :class:`ProxyBudget` with the flags given on the command line."""
    from workers.budget import ProxyBudget

    changes: dict[str, Any] = {}
    for flag, field in _BUDGET_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            all_or_own = field in ("train_samples", "val_samples", "width") and value == 0
            changes[field] = None if all_or_own else value
    if args.no_augment:
        changes["augment"] = False
    return ProxyBudget.from_dict({**ProxyBudget().to_dict(), **changes})


def run(args: argparse.Namespace) -> int:
    spec = read_spec(args.spec)
    from workers.data import DataConfig
    from workers.errors import TrainingFailed
    from workers.train import plan_proxy, train_proxy

    budget = budget_from_args(args)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads: expected an integer >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    data = DataConfig(dataset=args.dataset, data_dir=args.data_dir, download=not args.no_download)
    proxy = plan_proxy(spec, data, budget)
    log = sys.stderr
    if proxy.notes:
        print(f"proxy of {spec.backbone} on {data.dataset}: {', '.join(proxy.notes)}", file=log)
    bar = _Progress(budget.epochs)
    states: list[Any] = []
    try:
        final = train_proxy(
            spec, data, budget, on_epoch=bar.update, on_checkpoint=_keep_last(states, args.save)
        )
    except TrainingFailed as exc:
        bar.close()
        print(f"nas train: failed: {exc}", file=log)
        return 1
    bar.close()
    if args.save and states:
        states[-1].save(args.save)
    if args.json:
        print(json.dumps(final, sort_keys=True))
    else:
        _print_summary(final, args.save)
    return 0


def _keep_last(states: list[Any], wanted: str | None) -> Any:
    if not wanted:
        return None

    def keep(state: Any) -> None:
        states[:] = [state]

    return keep


class _Progress:
    """A tqdm bar over epochs on standard error, showing the last epoch's metrics."""

    def __init__(self, epochs: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, unit="epoch", file=sys.stderr, leave=True)

    def update(self, metrics: dict[str, float]) -> None:
        self.bar.set_postfix(
            val_acc=f"{metrics['val_accuracy']:.4f}",
            loss=f"{metrics['train_loss']:.3f}",
            img_s=f"{metrics['images_per_s']:.0f}",
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _print_summary(final: dict[str, Any], saved: str | None) -> None:
    proxy = final["proxy"]
    print(
        f"val_accuracy {final['val_accuracy']:.4f} (best {final['best_val_accuracy']:.4f}) "
        f"after {final['epochs_trained']} epochs in {final['wall_time_s']:.1f} s"
    )
    print(
        f"proxy: width {proxy['width']}, {proxy['input_size']} px, "
        f"{proxy['train_samples']} train / {proxy['val_samples']} val images"
    )
    print(f"full spec: {final['macs'] / 1e6:,.2f} M MACs, {final['params']:,} params")
    if saved:
        print(f"checkpoint: {saved}/model.pt")
