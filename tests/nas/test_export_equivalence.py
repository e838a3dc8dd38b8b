"""Exported modules rebuild the searched network exactly, in an interpreter without this project.

Every registered block is exported once (resnet20 at width 0.5, the block at its natural
position in the last stage), plus layouts that exercise the bottleneck backbone, a strided
``replace`` block and each insertion point. One fresh interpreter (``python -I -S`` with only
the virtualenv's site-packages on ``sys.path``, where ``import searchspace`` must fail) imports
them all, builds each model, loads the reference weights and returns its outputs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from nas.export import Origin, render_module
from searchspace.blocks import registered_blocks
from searchspace.build import build_model
from searchspace.catalog import block_info
from searchspace.spec import ArchSpec
from tests.nas.export_limits import LIMITS
from tests.nas.modules import load_module


def block_spec(name: str) -> dict[str, Any]:
    """resnet20 with ``name`` at its natural position in the last stage.

    Width 0.5 (32 channels there) keeps it fast; width 1.0 if the block's default parameters
    need more channels (a divisor such as heads).
    """
    stages: list[dict[str, Any]] = [{}, {}, {}]
    if name != "none":
        stages[2] = {"block": name, "position": block_info(name).positions[0]}
    base = {"backbone": "resnet20", "in_channels": 1, "num_classes": 10, "input_size": 16}
    try:
        return ArchSpec.from_dict({**base, "width": 0.5, "stages": stages}).to_dict()
    except ValueError:
        return ArchSpec.from_dict({**base, "width": 1.0, "stages": stages}).to_dict()


LAYOUTS: dict[str, dict[str, Any]] = {
    # Bottleneck units, ImageNet stem, a strided stage-2 replace, a pre and a stage_end block.
    "layout_bottleneck": {
        "backbone": "resnet50",
        "width": 0.125,
        "in_channels": 3,
        "num_classes": 7,
        "input_size": 32,
        "stages": [
            {"block": "se", "position": "pre", "blocks": "alternate", "params": {"ratio": 4}},
            {"block": "sk", "position": "replace", "blocks": "first"},
            {},
            {"block": "se", "position": "stage_end", "params": {"ratio": 8}},
        ],
    },
    # Two blocks with a private helper of the same name (one is renamed in the file) and two
    # spellings of the same import (``import torch.nn.functional as F``, ``from torch.nn ...``).
    "layout_shared_names": {
        "backbone": "resnet50",
        "width": 0.125,
        "in_channels": 3,
        "num_classes": 4,
        "input_size": 32,
        "stages": [
            {"block": "bam", "position": "stage_end", "params": {"ratio": 4}},
            {"block": "condconv", "position": "replace", "blocks": "first"},
            {"block": "fca", "params": {"ratio": 4}},
            {"block": "aspp"},
        ],
    },
    "layout_cifar_points": {
        "backbone": "resnet20",
        "width": 0.5,
        "in_channels": 3,
        "num_classes": 5,
        "input_size": 16,
        "stages": [
            {"block": "se", "position": "identity", "blocks": "last", "params": {"ratio": 4}},
            {"block": "se", "position": "mid", "blocks": "alternate", "params": {"ratio": 4}},
            {"block": "se", "position": "post", "params": {"ratio": 4}},
        ],
    },
}


def all_cases() -> dict[str, dict[str, Any]]:
    """One case per registered block, then the layouts whose blocks are all registered."""
    blocks = registered_blocks()
    cases = {f"block_{name}": block_spec(name) for name in blocks}
    for case, spec in LAYOUTS.items():
        if all(stage.get("block", "none") in blocks for stage in spec["stages"]):
            cases[case] = spec
    return cases


CASES = all_cases()

pytestmark = [
    pytest.mark.slow,  # one subprocess builds ~30 models: ~30 s unloaded
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning"),
]


def perturbed_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random weights everywhere, so zero-initialised gates cannot hide a wrong block."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if not value.is_floating_point():
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=generator) * 0.3
    return state


FRESH_SCRIPT = r"""
import json, sys, traceback
directory, site_packages = sys.argv[1], sys.argv[2]
sys.path[:0] = [directory]
sys.path.append(site_packages)
import importlib, torch
results = {}
for project in ("searchspace", "nas", "workers", "storage"):
    try:
        importlib.import_module(project)
        results["importable"] = project
    except ModuleNotFoundError:
        pass
for case in json.loads(sys.argv[3]):
    try:
        module = importlib.import_module(f"exported_{case}")
        inputs = torch.load(f"{directory}/{case}.pt", weights_only=True)
        model = module.build_model().eval()
        model.load_state_dict(inputs["state"], strict=True)
        with torch.no_grad():
            out = model(inputs["x"])
        params = sum(p.numel() for p in model.parameters())
        results[case] = {"params": params, "out": out, "spec": module.SPEC}
    except Exception:
        results[case] = {"error": traceback.format_exc()}
torch.save(results, f"{directory}/results.pt")
"""


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Export every case, then build them all in one isolated interpreter."""
    directory = tmp_path_factory.mktemp("fresh")
    expected = {}
    for index, (case, raw) in enumerate(CASES.items()):
        spec = ArchSpec.from_dict(raw)
        text = render_module(spec, Origin(date="2026-01-01T00:00:00Z", command="test")).text
        (directory / f"exported_{case}.py").write_text(text)
        torch.manual_seed(index)
        reference = build_model(spec).eval()
        state = perturbed_state(reference, index)
        reference.load_state_dict(state)
        x = torch.randn(2, spec.in_channels, spec.input_size, spec.input_size)
        with torch.no_grad():
            expected[case] = {
                "params": sum(p.numel() for p in reference.parameters()),
                "out": reference(x),
            }
        torch.save({"state": state, "x": x}, directory / f"{case}.pt")
    site_packages = str(Path(torch.__file__).parents[1])
    command = [sys.executable, "-I", "-S", "-c", FRESH_SCRIPT, str(directory), site_packages]
    import json

    subprocess.run([*command, json.dumps(list(CASES))], cwd=directory, check=True, timeout=300)
    results = torch.load(directory / "results.pt", weights_only=False)
    return {"expected": expected, "results": results, "directory": directory}


def test_project_is_not_importable_in_the_fresh_interpreter(fresh: dict[str, Any]) -> None:
    assert "importable" not in fresh["results"], fresh["results"].get("importable")


@pytest.mark.parametrize("case", list(CASES))
def test_exported_module_matches_build_model(case: str, fresh: dict[str, Any]) -> None:
    got = fresh["results"][case]
    assert "error" not in got, got.get("error")
    want = fresh["expected"][case]
    assert got["params"] == want["params"]
    torch.testing.assert_close(got["out"], want["out"], rtol=1e-5, atol=1e-5)
    assert ArchSpec.from_dict(got["spec"]) == ArchSpec.from_dict(CASES[case])


FULL_MODEL_CASES = [c for c in ("block_se", *LAYOUTS) if c in CASES]


def reference_model(case: str, fresh: dict[str, Any]) -> tuple[torch.nn.Module, torch.Tensor]:
    """The exported network of ``case`` with the perturbed weights, and its input."""
    module = load_module(fresh["directory"] / f"exported_{case}.py")
    inputs = torch.load(fresh["directory"] / f"{case}.pt", weights_only=True)
    model = module.build_model().eval()
    model.load_state_dict(inputs["state"], strict=True)
    return model, inputs["x"]


@pytest.mark.parametrize("case", FULL_MODEL_CASES)
def test_exported_model_passes_torch_export(case: str, fresh: dict[str, Any]) -> None:
    """The whole network exports with ``torch.export`` and a dynamic batch, and the program
    gives the project's outputs (the perturbed weights) at the traced batch and another."""
    model, x = reference_model(case, fresh)
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(model, (x,), dynamic_shapes=(batch,), strict=False).module()
    want = fresh["expected"][case]["out"]
    with torch.no_grad():
        assert float((program(x) - want).abs().max()) < 1e-4
        assert float((program(x[:1]) - want[:1]).abs().max()) < 1e-4, "batch is dynamic"


@pytest.mark.parametrize("case", FULL_MODEL_CASES)
def test_exported_model_scripts(case: str, fresh: dict[str, Any]) -> None:
    """``torch.jit.script(build_model())`` compiles (stages called by name) and agrees, unless
    a block of the layout is in the table of blocks that do not script."""
    model, x = reference_model(case, fresh)
    blocks = {stage.get("block", "none") for stage in CASES[case]["stages"]}
    if blocks & set(LIMITS["torchscript"]):
        with pytest.raises(Exception, match=r"\S"):
            torch.jit.script(model)
        return
    scripted = torch.jit.script(model)
    with torch.no_grad():
        assert float((scripted(x) - fresh["expected"][case]["out"]).abs().max()) < 1e-4


@pytest.mark.parametrize("name", [n for n in registered_blocks() if n != "none"])
def test_exported_block_passes_torch_export(name: str, fresh: dict[str, Any]) -> None:
    """Each exported block class exports alone with a dynamic batch and agrees with eager."""
    module = load_module(fresh["directory"] / f"exported_block_{name}.py")
    stage = module.SPEC["stages"][2]
    channels = round(64 * module.SPEC["width"])  # the last stage's width, 4x4 at 16x16 input
    torch.manual_seed(0)
    block = module.create_block(name, channels, **stage["params"]).eval()
    x = torch.randn(2, channels, 4, 4)
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(block, (x,), dynamic_shapes=(batch,), strict=False).module()
    other = torch.randn(3, channels, 4, 4)
    with torch.no_grad():
        assert program(other).shape == block(other).shape
        assert float((program(other) - block(other)).abs().max()) < 1e-4


def test_python_model_py_prints_the_summary_and_runs(fresh: dict[str, Any]) -> None:
    path = fresh["directory"] / "exported_block_se.py"
    run = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, check=True, timeout=120
    )
    assert run.stdout.startswith("resnet20 at width 0.5 with searched attention")
    assert "He, Zhang, Ren and Sun" in run.stdout and "Hu et al." in run.stdout
    assert "parameters, (1, 1, 16, 16) -> (1, 10)" in run.stdout
