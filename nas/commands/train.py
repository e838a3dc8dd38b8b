"""``nas train SPEC.json``: train one spec's proxy on real data and print its metrics.

How a user checks a single candidate before (or after) a search: the same worker, budget and
data the search uses, without Optuna or Ray. Every default is the search's: the proxy is
``workers.budget.ProxyBudget()`` and the data ``workers.data.DataConfig()``, or with
``--config search.toml`` that file's ``[proxy]`` and ``[data]``; flags given override either.
The spec's ``in_channels``/``num_classes``/``input_size`` may differ from the dataset's; the
proxy adapts them and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Any

from nas.commands._io import read_spec
from searchspace.fields import Names

NAME = "train"
HELP = "train one spec's proxy on real data and print its validation accuracy"
ORDER = 25

MAX_PROXY_MACS = 10e9
"""MACs per image above which a proxy is refused: 2.5x ResNet-50 at 224 px, far past any proxy
(an ``--input-size`` of 100,000 would ask for terabytes of activations)."""
_ZERO_MEANS = {"train_samples": "all", "val_samples": "all", "width": "the spec's"}
"""Fields whose ``None`` (the whole split, the spec's width) is given as 0 on the command line."""


def _flags(args: argparse.Namespace) -> dict[str, str]:
    """Each field's flag, read from the parsed arguments: ``--<field>``, or ``--no-<field>``
    for a switch that turns the field off (``--no-augment``)."""
    return {dest.removeprefix("no_"): f"--{dest.replace('_', '-')}" for dest in vars(args)}


def _flag_names(section: str, args: argparse.Namespace) -> Names:
    """How ``nas train`` names a section's fields: by their flags, ``None`` as ``0 (all)``."""
    nulls = {field: f"0 ({meaning})" for field, meaning in _ZERO_MEANS.items()}
    return Names(section, flags=_flags(args), nulls=nulls)


def _defaults() -> tuple[dict[str, Any], Any]:
    from workers.budget import ProxyBudget
    from workers.data import DataConfig

    return {f.name: f.default for f in fields(ProxyBudget)}, DataConfig()


def _shown(field: str, value: Any) -> str:
    if value is None and field in _ZERO_MEANS:
        return f"0: {_ZERO_MEANS[field]}"
    return "the dataset's" if value is None else str(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from workers.budget import DEVICES
    from workers.datasets import DATASETS
    from workers.optimizers import OPTIMIZERS

    budget, data = _defaults()

    def default(field: str, what: str = "") -> str:
        return f"{what}(default {_shown(field, budget[field])}, or the --config file's)"

    parser.add_argument("spec", help="spec JSON file ('-' for standard input)")
    parser.add_argument("--config", help="take [data] and [proxy] from this search TOML file")
    parser.add_argument("--epochs", type=int, help=default("epochs", "epochs "))
    parser.add_argument("--dataset", help=f"{DATASETS.listed()} (default {data.dataset})")
    parser.add_argument(
        "--data-dir",
        help="dataset files (default: the dataset's own search path, for fashion_mnist "
        "$NAS_DATA_DIR, /usr/share/datasets/fashion-mnist, ~/.cache/attention-nas; for cifar "
        "~/.cache/attention-nas; else torchvision's download there)",
    )
    parser.add_argument(
        "--no-download", action="store_true", help="never let torchvision download missing files"
    )
    parser.add_argument(
        "--train-samples", type=int, help=default("train_samples", "training images ")
    )
    parser.add_argument(
        "--val-samples", type=int, help=default("val_samples", "validation images ")
    )
    parser.add_argument("--width", type=float, help=default("width", "proxy width multiplier "))
    parser.add_argument("--input-size", type=int, help=default("input_size", "proxy resolution "))
    parser.add_argument("--batch-size", type=int, help=default("batch_size", "batch size "))
    parser.add_argument(
        "--optimizer", choices=OPTIMIZERS.names(), help=default("optimizer", "optimizer ")
    )
    per_optimizer = ", ".join(f"{name} {optimizer.lr:g}" for name, optimizer in OPTIMIZERS.items())
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {per_optimizer})")
    parser.add_argument("--seed", type=int, help=default("seed", "seed "))
    parser.add_argument("--device", choices=DEVICES, help=default("device", "device "))
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


def settings_from_args(args: argparse.Namespace) -> tuple[Any, Any]:
    """``(DataConfig, ProxyBudget)``: the search's defaults (or ``--config``'s), then flags."""
    from workers.budget import ProxyBudget
    from workers.data import DataConfig

    if args.config:
        from nas.config import SearchConfig

        config = SearchConfig.from_toml(args.config)
        budget, data = config.proxy.to_dict(), config.data.to_dict()
    else:
        budget, data = ProxyBudget().to_dict(), DataConfig().to_dict()
    for field in ("epochs", "train_samples", "val_samples", "width", "input_size", "batch_size"):
        value = getattr(args, field)
        if value is not None:
            budget[field] = None if value == 0 and field in _ZERO_MEANS else value
    for field in ("optimizer", "seed", "device"):
        if getattr(args, field) is not None:
            budget[field] = getattr(args, field)
    if args.optimizer is not None:  # that optimizer's own lr and decay, unless --lr is given
        budget["lr"], budget["weight_decay"] = None, None
    if args.lr is not None:
        budget["lr"] = args.lr
    if args.no_augment:
        budget["augment"] = False
    if args.dataset is not None:
        data["dataset"] = args.dataset
    if args.data_dir is not None:
        data["data_dir"] = args.data_dir
    if args.no_download:
        data["download"] = False
    return (
        DataConfig.from_dict(data, _flag_names("data", args)),
        ProxyBudget.from_dict(budget, _flag_names("budget", args)),
    )


def check_proxy_size(proxy: Any) -> None:
    """Refuse a proxy whose cost per image no machine this trains on could hold."""
    from searchspace.cost import count_cost

    macs = count_cost(proxy.spec).macs
    if macs > MAX_PROXY_MACS:
        fits = int(proxy.spec.input_size * (MAX_PROXY_MACS / macs) ** 0.5)
        raise ValueError(
            f"--input-size {proxy.spec.input_size} at width {proxy.spec.width:g}: the proxy "
            f"would cost {macs / 1e9:,.0f} G MACs per image, over the {MAX_PROXY_MACS / 1e9:g} G "
            f"a proxy may; use --input-size {max(8, fits)} or less (or a smaller --width)"
        )


def run(args: argparse.Namespace) -> int:
    spec = read_spec(args.spec)
    from nas.commands._io import check_output
    from workers.data import check_readable
    from workers.failures import TrainingFailed
    from workers.train import plan_proxy, resolve_device, train_proxy

    saved = check_output("--save", args.save, directory=True) if args.save else None
    data, budget = settings_from_args(args)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads: expected an integer >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    resolve_device(budget.device, field=_flags(args)["device"])
    proxy = plan_proxy(spec, data, budget)
    check_proxy_size(proxy)
    check_readable(data)  # a corrupt file is one error line, before the bar or any note
    log = sys.stderr
    if proxy.notes:
        print(f"proxy of {spec.backbone} on {data.dataset}: {', '.join(proxy.notes)}", file=log)
    bar = _Progress(budget.epochs, budget.val_samples)
    states: list[Any] = []
    try:
        final = train_proxy(
            spec, data, budget, on_epoch=bar.update, on_checkpoint=_keep_last(states, saved)
        )
    except TrainingFailed as exc:
        print(f"nas train: failed: {exc}", file=log)
        return 1
    finally:
        bar.close()
    if args.json:
        print(json.dumps(final, sort_keys=True), flush=True)
    else:
        _print_summary(final, str(saved) if saved else None)
    if saved is not None and states:
        _save(states[-1], saved)
    return 0


def _save(state: Any, directory: Any) -> None:
    try:
        state.save(directory)
    except OSError as exc:
        raise ValueError(
            f"--save {str(directory)!r}: cannot write the checkpoint ({exc.strerror}); the "
            "metrics above are the run's"
        ) from None


def _keep_last(states: list[Any], wanted: Any) -> Any:
    if not wanted:
        return None

    def keep(state: Any) -> None:
        states[:] = [state]

    return keep


class _Progress:
    """A tqdm bar over epochs on standard error, showing the last epoch's metrics."""

    def __init__(self, epochs: int, val_images: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, unit="epoch", file=sys.stderr, leave=True)
        self.val_images = val_images

    def update(self, metrics: dict[str, float]) -> None:
        from nas.results.uncertainty import unmeasured

        accuracy = unmeasured(metrics["val_accuracy"], val_images=self.val_images)
        self.bar.set_postfix(
            val_acc=accuracy.text(),
            loss=f"{metrics['train_loss']:.3f}",
            img_s=f"{metrics['images_per_s']:.0f}",
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _print_summary(final: dict[str, Any], saved: str | None) -> None:
    from nas.results.uncertainty import unmeasured
    from nas.wording import counted

    proxy = final["proxy"]
    images = proxy.get("val_samples")  # one run: the digits its validation images support
    last, best = (
        unmeasured(final[key], val_images=images if isinstance(images, int) else None).text()
        for key in ("val_accuracy", "best_val_accuracy")
    )
    print(
        f"val_accuracy {last} (best {best}; one run, no measured noise) "
        f"after {counted(int(final['epochs_trained']), 'epoch')} in {final['wall_time_s']:.1f} s"
    )
    print(
        f"proxy: width {proxy['width']}, {proxy['input_size']} px, "
        f"{proxy['train_samples']} train / {proxy['val_samples']} val images"
    )
    print(f"full spec: {final['macs'] / 1e6:,.2f} M MACs, {final['params']:,} params")
    if saved:
        print(f"checkpoint: {saved}/model.pt", flush=True)
