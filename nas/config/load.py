"""``SearchConfig``, one of each section, and reading it: TOML, then every section checked.

Every error names the field as the file spells it (``search.samplr: unknown key; allowed:
...``, ``proxy.epochs: expected an integer >= 1``) and is a ``ValueError``, which the CLI
prints as one line; ``[data]`` and ``[proxy]`` are checked by the workers' own classes, told
their section's name. Checking the sampler and pruner imports Optuna (their names and options
come from the registries); ``[data]`` reads the dataset formats' registry, which imports no
torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nas.config.checks import registry
from nas.config.schema import (
    FIELDS,
    CalibrateSection,
    ConfirmSection,
    NoiseSection,
    ObjectivesSection,
    ResourcesSection,
    SearchSection,
    SpaceSection,
)
from searchspace.backbones import get_backbone
from searchspace.fields import Names, reject_unknown
from workers.budget import ProxyBudget
from workers.data import DataConfig

PROXY = Names("proxy")
"""``[proxy]`` is a ``ProxyBudget``, whose fields a config file names ``proxy.<field>``."""


@dataclass(frozen=True)
class SearchConfig:
    """The whole resolved configuration of one ``nas search``."""

    search: SearchSection = field(default_factory=SearchSection)
    space: SpaceSection = field(default_factory=SpaceSection)
    data: DataConfig = field(default_factory=DataConfig)
    proxy: ProxyBudget = field(default_factory=ProxyBudget)
    sampler: Mapping[str, Any] = field(default_factory=dict)
    pruner: Mapping[str, Any] = field(default_factory=dict)
    objectives: ObjectivesSection = field(default_factory=ObjectivesSection)
    resources: ResourcesSection = field(default_factory=ResourcesSection)
    confirm: ConfirmSection = field(default_factory=ConfirmSection)
    calibrate: CalibrateSection = field(default_factory=CalibrateSection)
    noise: NoiseSection = field(default_factory=NoiseSection)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored as ``study.user_attrs["config"]``."""
        out = asdict(self)
        out["data"], out["proxy"] = self.data.to_dict(), self.proxy.to_dict()
        out["sampler"], out["pruner"] = dict(self.sampler), dict(self.pruner)
        return _jsonable(out)

    def with_overrides(self, **search: Any) -> SearchConfig:
        """This config with ``[search]`` keys replaced (``None`` values are ignored)."""
        return with_overrides(self, search)

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchConfig:
        return load_toml(path)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SearchConfig:
        return load_dict(raw)


SECTIONS = tuple(f.name for f in fields(SearchConfig))
"""Every section a config file may have, in the order the docs list them."""


def load_toml(path: str | Path) -> SearchConfig:
    from nas.textfile import load_toml as read

    return load_dict(read("config", str(path)))


def load_dict(raw: Mapping[str, Any]) -> SearchConfig:
    """Check ``raw`` (a parsed TOML file) section by section; omitted keys take defaults."""
    for key in raw:
        if key not in SECTIONS:
            raise ValueError(f"{key}: unknown section; allowed: {', '.join(SECTIONS)}")
    space = _section("space", _table("space", raw), SpaceSection)
    _check_space(space)
    config = SearchConfig(
        search=_section("search", _table("search", raw), SearchSection),
        space=space,
        data=_data_section(_table("data", raw)),
        proxy=ProxyBudget.from_dict(_table("proxy", raw), PROXY),
        sampler=dict(_table("sampler", raw)),
        pruner=dict(_table("pruner", raw)),
        objectives=_section("objectives", _table("objectives", raw), ObjectivesSection),
        resources=_section("resources", _table("resources", raw), ResourcesSection),
        confirm=_section("confirm", _table("confirm", raw), ConfirmSection),
        calibrate=_section("calibrate", _table("calibrate", raw), CalibrateSection),
        noise=_section("noise", _table("noise", raw), NoiseSection),
    )
    _check_strategies(config)
    return config


def with_overrides(config: SearchConfig, search: Mapping[str, Any]) -> SearchConfig:
    """``config`` with the ``[search]`` keys given (not ``None``) replaced, checked again."""
    given = {k: v for k, v in search.items() if v is not None}
    merged = {**asdict(config.search), **given}
    new = replace(config, search=_section("search", merged, SearchSection))
    chosen = (new.search.sampler, new.search.pruner)
    if chosen != (config.search.sampler, config.search.pruner):
        _check_strategies(new)  # the options were checked against the old choice only
    return new


def _data_section(raw: Mapping[str, Any]) -> DataConfig:
    """``[data]`` as a checked ``DataConfig``; a relative ``data_dir`` is made absolute now,
    since Ray runs each trial in a working directory of its own."""
    given = dict(raw)
    if isinstance(given.get("data_dir"), str) and given["data_dir"]:
        given["data_dir"] = str(Path(given["data_dir"]).expanduser().resolve())
    return DataConfig.from_dict(given)


def _check_strategies(config: SearchConfig) -> None:
    """``[sampler]``/``[pruner]`` options: known to the chosen one, and values it accepts.

    A value is only refused by building the strategy, so each is built here once, unseeded,
    and dropped: the search builds its own, seeded, for every study it opens. The pruner is
    built as the search builds it, with ``max_resource`` the proxy's epochs unless given
    (hyperband refuses ``bootstrap_count`` with its own default, ``"auto"``).
    """
    for kind, name, options, built in (
        ("sampler", config.search.sampler, config.sampler, config.sampler),
        (
            "pruner",
            config.search.pruner,
            config.pruner,
            {"max_resource": config.proxy.epochs, **config.pruner},
        ),
    ):
        strategies = registry(kind)
        strategies.check_options(name, dict(options), where=kind)
        strategies.make(name, **built)  # a refused value: "sampler 'tpe': ..." from the registry


def _section(name: str, raw: Mapping[str, Any], cls: type) -> Any:
    checks = FIELDS[cls]
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
