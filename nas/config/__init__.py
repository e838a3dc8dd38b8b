"""The ``nas search`` configuration: a TOML file checked field by field, then CLI overrides.

:mod:`nas.config.schema` declares every section, its defaults and the check of each field;
:mod:`nas.config.checks` builds those checks on :mod:`searchspace.fields`, the one vocabulary of
field errors; :mod:`nas.config.load` holds :class:`SearchConfig` and reads a file into it.
"""

from __future__ import annotations

from nas.config.load import SearchConfig
from nas.config.schema import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    DEFAULT_STUDY,
    CalibrateSection,
    ConfirmSection,
    NoiseSection,
    ObjectivesSection,
    ResourcesSection,
    SearchSection,
    SpaceSection,
)

__all__ = [
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "DEFAULT_STUDY",
    "CalibrateSection",
    "ConfirmSection",
    "NoiseSection",
    "ObjectivesSection",
    "ResourcesSection",
    "SearchConfig",
    "SearchSection",
    "SpaceSection",
]
