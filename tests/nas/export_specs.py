"""The specs the export tests store in their studies: resnet20 at full scale with one block, or
none, in its third stage."""

from __future__ import annotations

from typing import Any

from searchspace.spec import ArchSpec

FULL = {"backbone": "resnet20", "in_channels": 1, "num_classes": 10, "input_size": 28}


def spec(third_stage: dict[str, Any]) -> dict[str, Any]:
    return ArchSpec.from_dict({**FULL, "stages": [{}, {}, third_stage]}).to_dict()


SE = spec({"block": "se", "params": {"ratio": 4}})
PLAIN = spec({})
ECA = spec({"block": "eca"})
SE_POST = spec({"block": "se", "position": "post"})
