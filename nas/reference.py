"""Known designs that open every search, so the front always has reference points.

Each is a layout of the published integration of a block, with the catalog's default
parameters, expressed per stage so it fits any backbone depth:

- ``no_attention``: the plain ResNet (He et al., CVPR 2016).
- ``se_branch``: SE at the end of the residual branch of every block (Hu et al., CVPR 2018).
- ``cbam_all``: CBAM in every block (Woo et al., ECCV 2018).
- ``gc_stage_end``: a global-context block after every stage (Cao et al., GCNet, 2019).
- ``nonlocal_last``: one Non-local block in the last stage only (Wang et al., CVPR 2018).
- ``stn_first``: a spatial transformer in front of the first residual branch, the closest
  point to the paper's "immediately following the input" (Jaderberg et al., NeurIPS 2015).
- ``botnet_last``: MHSA for the 3x3 conv of every block of the last stage (Srinivas et al.,
  BoTNet, CVPR 2021).

A block parameter takes the catalog default when the stage allows it, else the allowed
choice nearest to it (an SE ratio of 16 cannot reduce the 8 channels of a half-width first
stage, so there it becomes 8). A design is skipped when the search's ``[space]`` cannot draw
it (a block that is not allowed or not in the catalog, a stage that is not searched, a
position or selector outside the allowed ones). This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nas.space import SearchSpace
from searchspace.catalog import Choice, block_info, block_names

Layout = Callable[[int], list[dict[str, Any]]]

REFERENCES: dict[str, Layout] = {
    "no_attention": lambda n: [{} for _ in range(n)],
    "se_branch": lambda n: [{"block": "se", "position": "branch"} for _ in range(n)],
    "cbam_all": lambda n: [{"block": "cbam"} for _ in range(n)],
    "gc_stage_end": lambda n: [{"block": "gc", "position": "stage_end"} for _ in range(n)],
    "nonlocal_last": lambda n: [{} for _ in range(n - 1)] + [{"block": "nonlocal"}],
    "stn_first": lambda n: (
        [{"block": "stn", "position": "pre", "blocks": "first"}] + [{} for _ in range(n - 1)]
    ),
    "botnet_last": lambda n: (
        [{} for _ in range(n - 1)] + [{"block": "mhsa", "position": "replace"}]
    ),
}
"""Reference name -> per-stage layout for a backbone of ``n`` stages."""


def reference_params(space: SearchSpace) -> dict[str, dict[str, Any]]:
    """``{name: Optuna params}`` for every reference design ``space`` can draw, in order."""
    known = set(block_names())
    out: dict[str, dict[str, Any]] = {}
    for name, layout in REFERENCES.items():
        stages = layout(space.backbone.num_stages)
        if any(s.get("block", "none") not in known for s in stages):
            continue
        try:
            params = space.params_for([_with_params(space, i, s) for i, s in enumerate(stages)])
        except ValueError:
            continue
        if params is not None:
            out[name] = params
    return out


def _with_params(space: SearchSpace, index: int, stage: dict[str, Any]) -> dict[str, Any]:
    """``stage`` with each parameter at its default, or the nearest value the stage allows."""
    block = stage.get("block", "none")
    choices = space.stages.get(index)
    if block == "none" or choices is None or block not in choices.blocks:
        return stage
    params = {}
    for param in block_info(block).params:
        params[param.name] = _nearest(param.default, choices.params[block][param.name])
    return {**stage, "params": params}


def _nearest(default: Choice, allowed: tuple[Choice, ...]) -> Choice:
    if default in allowed or not allowed:
        return default
    numeric = [v for v in allowed if isinstance(v, int | float) and not isinstance(v, bool)]
    if isinstance(default, int | float) and not isinstance(default, bool) and numeric:
        return min(numeric, key=lambda v: abs(float(v) - float(default)))
    return allowed[0]
