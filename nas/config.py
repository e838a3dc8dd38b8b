"""The ``nas search`` configuration: a TOML file validated field by field, then CLI overrides.

Sections (every key is documented in ``docs/search.example.toml``)::

    [search]     study, storage, artifacts, trials, concurrency, seed, sampler, pruner
    [space]      backbone, width, stages, blocks, positions, selectors, [space.params.<block>]
    [data]       a ``workers.data.DataConfig``, checked when the file is read
    [proxy]      a ``workers.budget.ProxyBudget`` (its defaults are the search's), checked too
    [sampler]    options of the chosen sampler (``nas.plugins.SAMPLERS.options``)
    [pruner]     options of the chosen pruner (``nas.plugins.PRUNERS.options``)
    [objectives] signal (what the proxy is ranked by), extra ("params", "latency_ms")
    [resources]  cpus_per_trial, gpus_per_trial, max_trial_seconds, reuse_actors, storage_path
    [confirm]    after_search, scale, val_samples, seeds, members (retraining the front)

Every error names the field (``search.samplr: unknown key; allowed: ...``) and is a
``ValueError``, which the CLI prints as one line. This module imports no torch or Ray at import
time; checking a config imports Optuna (sampler and pruner names and options come from their
registries) and the dataset formats of ``[data]`` (torch modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas.config_checks import (
    Check,
    among,
    block_params,
    boolean,
    integer,
    list_of,
    number,
    one_of,
    optional,
    string,
    writable_folder,
)
from nas.config_sections import (
    ConfirmSection,
    ObjectivesSection,
    ResourcesSection,
    SearchSection,
    SpaceSection,
)
from nas.objectives import extra_names
from nas.study_name import check_study_name
from searchspace.backbones import BACKBONES, get_backbone
from searchspace.catalog import POSITIONS, block_names
from searchspace.spec import SELECTORS
from workers._fields import reject_unknown
from workers.budget import ProxyBudget
from workers.signals import SIGNALS

if TYPE_CHECKING:
    from workers.data import DataConfig

__all__ = [
    "ConfirmSection",
    "ObjectivesSection",
    "ResourcesSection",
    "SearchConfig",
    "SearchSection",
    "SpaceSection",
]


@dataclass(frozen=True)
class SearchConfig:
    """The whole resolved configuration of one ``nas search``."""

    search: SearchSection = field(default_factory=SearchSection)
    space: SpaceSection = field(default_factory=SpaceSection)
    data: DataConfig = field(default_factory=lambda: _data_section({}))
    proxy: ProxyBudget = field(default_factory=ProxyBudget)
    sampler: Mapping[str, Any] = field(default_factory=dict)
    pruner: Mapping[str, Any] = field(default_factory=dict)
    objectives: ObjectivesSection = field(default_factory=ObjectivesSection)
    resources: ResourcesSection = field(default_factory=ResourcesSection)
    confirm: ConfirmSection = field(default_factory=ConfirmSection)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored as ``study.user_attrs["config"]``."""
        out = asdict(self)
        out["data"], out["proxy"] = self.data.to_dict(), self.proxy.to_dict()
        out["sampler"], out["pruner"] = dict(self.sampler), dict(self.pruner)
        return _jsonable(out)

    def with_overrides(self, **search: Any) -> SearchConfig:
        """This config with ``[search]`` keys replaced (``None`` values are ignored)."""
        given = {k: v for k, v in search.items() if v is not None}
        merged = {**asdict(self.search), **given}
        config = replace(self, search=_parse_section("search", merged, SearchSection, _SEARCH))
        _check_strategies(config)
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchConfig:
        from nas.textfile import load_toml

        return cls.from_dict(load_toml("config", str(path)))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SearchConfig:
        for key in raw:
            if key not in _SECTIONS:
                raise ValueError(f"{key}: unknown section; allowed: {', '.join(_SECTIONS)}")
        space = _parse_section("space", _table("space", raw), SpaceSection, _SPACE)
        _check_space(space)
        config = cls(
            search=_parse_section("search", _table("search", raw), SearchSection, _SEARCH),
            space=space,
            data=_data_section(_table("data", raw)),
            proxy=_renamed("budget", "proxy", lambda: ProxyBudget.from_dict(_table("proxy", raw))),
            sampler=dict(_table("sampler", raw)),
            pruner=dict(_table("pruner", raw)),
            objectives=_parse_section(
                "objectives", _table("objectives", raw), ObjectivesSection, _OBJECTIVES
            ),
            resources=_parse_section(
                "resources", _table("resources", raw), ResourcesSection, _RESOURCES
            ),
            confirm=_parse_section("confirm", _table("confirm", raw), ConfirmSection, _CONFIRM),
        )
        _check_strategies(config)
        return config


def _data_section(raw: Mapping[str, Any]) -> DataConfig:
    """``[data]`` as a checked ``DataConfig``; a relative ``data_dir`` is made absolute now,
    since Ray runs each trial in a working directory of its own."""
    from workers.data import DataConfig

    fields = dict(raw)
    if isinstance(fields.get("data_dir"), str) and fields["data_dir"]:
        fields["data_dir"] = str(Path(fields["data_dir"]).expanduser().resolve())
    return DataConfig.from_dict(fields)


def _renamed(inner: str, section: str, build: Callable[[], Any]) -> Any:
    """``build()``, with errors naming ``inner.key`` (a worker's name) renamed ``section.key``."""
    try:
        return build()
    except ValueError as exc:
        message = str(exc)
        if message.startswith(inner):
            message = section + message[len(inner) :]
        raise ValueError(message) from None


_SECTIONS = (
    "search",
    "space",
    "data",
    "proxy",
    "sampler",
    "pruner",
    "objectives",
    "resources",
    "confirm",
)
_REGISTRIES = {"sampler": ("nas.sampling", "SAMPLERS"), "pruner": ("nas.pruning", "PRUNERS")}
"""Where each section's registry lives; imported on first use, not here: they import Optuna."""


def _registry(kind: str) -> Any:
    module, name = _REGISTRIES[kind]
    return getattr(importlib.import_module(module), name)


def _registered(kind: str) -> Check:
    return among(lambda: _registry(kind).names())


def _check_strategies(config: SearchConfig) -> None:
    """``[sampler]``/``[pruner]`` options: known to the chosen one, and values it accepts."""
    for kind, name, options in (
        ("sampler", config.search.sampler, config.sampler),
        ("pruner", config.search.pruner, config.pruner),
    ):
        registry = _registry(kind)
        registry.check_options(name, dict(options), where=kind)
        try:
            registry.make(name, **options)
        except ValueError as exc:
            raise ValueError(f"{kind}: {exc}") from None


_SEARCH: dict[str, Check] = {
    "study": check_study_name,
    "storage": optional(string),
    "artifacts": optional(string),
    "trials": integer(1),
    "concurrency": integer(1),
    "seed": optional(integer(0)),
    "sampler": _registered("sampler"),
    "pruner": _registered("pruner"),
}
_SPACE: dict[str, Check] = {
    "backbone": among(lambda: tuple(BACKBONES)),
    "width": number(0.0, 8.0, open_low=True),
    "stages": optional(list_of(integer(0))),
    "blocks": optional(list_of(among(block_names))),
    "positions": optional(list_of(one_of(POSITIONS))),
    "selectors": optional(list_of(one_of(SELECTORS))),
    "params": block_params,
}
_OBJECTIVES: dict[str, Check] = {
    "extra": list_of(among(extra_names), empty=True),
    "signal": among(lambda: tuple(SIGNALS)),
}
_RESOURCES: dict[str, Check] = {
    "cpus_per_trial": number(0.0, 1024.0, open_low=True),
    "gpus_per_trial": optional(number(0.0, 64.0)),
    "max_trial_seconds": optional(number(0.0, 1e7, open_low=True)),
    "reuse_actors": boolean,
    "storage_path": optional(writable_folder),
}


_CONFIRM: dict[str, Check] = {
    "after_search": boolean,
    "scale": number(1.0, 1000.0),
    "val_samples": optional(integer(1)),
    "seeds": integer(1),
    "members": optional(integer(1)),
}


def _parse_section(name: str, raw: Mapping[str, Any], cls: type, checks: dict[str, Check]) -> Any:
    assert set(checks) == {f.name for f in fields(cls)}, f"{name}: checks and fields differ"
    reject_unknown(name, raw, tuple(checks))
    return cls(**{key: checks[key](f"{name}.{key}", value) for key, value in raw.items()})


def _check_space(space: SpaceSection) -> None:
    backbone = get_backbone(space.backbone)
    for i, stage in enumerate(space.stages or ()):
        if stage >= backbone.num_stages:
            raise ValueError(
                f"space.stages[{i}]: {backbone.name} has stages 0..{backbone.num_stages - 1}, "
                f"got {stage}"
            )
    if space.blocks is not None:
        for block in space.params:
            if block not in space.blocks:
                raise ValueError(f"space.params.{block}: block is not in space.blocks")


def _table(name: str, raw: Mapping[str, Any]) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected a [{name}] table, got {value!r}")
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
