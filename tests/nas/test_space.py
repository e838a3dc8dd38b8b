"""``nas.space`` and ``nas.reference``: the define-by-run space drawn by a real Optuna study."""

from __future__ import annotations

import optuna
import pytest

from nas.config import SearchConfig, SpaceSection
from nas.reference import REFERENCES, reference_params
from nas.space import SearchSpace
from searchspace.catalog import block_info, block_names
from searchspace.spec import ArchSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)
SHAPE = {"in_channels": 1, "input_size": 28, "num_classes": 10}


def _space(proxy_width: float | None = None, **section: object) -> SearchSpace:
    return SearchSpace(SpaceSection(**section), **SHAPE, proxy_width=proxy_width)  # type: ignore[arg-type]


def _draw(space: SearchSpace, n: int, seed: int = 0) -> list[tuple[dict[str, object], ArchSpec]]:
    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    out = []
    for _ in range(n):
        trial = study.ask()
        spec = space.sample(trial)
        out.append((trial.params, spec))
        study.tell(trial, [0.5, 1.0])
    return out


def test_draws_are_valid_and_conditional() -> None:
    space = _space(proxy_width=0.5)
    for params, spec in _draw(space, 200):
        assert spec == spec.validated()
        assert spec.with_scale(width=0.5) == spec.with_scale(width=0.5).validated()
        for i, stage in enumerate(spec.stages):
            assert params[f"s{i}.block"] == stage.block
            own = {k for k in params if k.startswith(f"s{i}.") and k != f"s{i}.block"}
            prefix = f"s{i}.{stage.block}."
            assert all(k.startswith(prefix) for k in own), (stage.block, own)
            if stage.block != "none":
                names = {k[len(prefix) :] for k in own}
                expected = {p.name for p in block_info(stage.block).params} | {"position"}
                if stage.position != "stage_end":
                    expected.add("blocks")
                assert names == expected


def test_params_for_inverts_sample() -> None:
    space = _space()
    for params, spec in _draw(space, 100, seed=1):
        assert space.params_for([s.to_dict() for s in spec.stages]) == params


def test_late_only_blocks_stay_late() -> None:
    space = _space()
    late = [n for n in block_names() if block_info(n).late_only]
    assert late, "the catalog declares no late-only block"
    for name in late:
        assert name not in space.stages[0].blocks
        assert name in space.stages[2].blocks


def test_config_narrows_the_space() -> None:
    space = _space(
        stages=(1, 2),
        blocks=("none", "se"),
        positions=("branch", "stage_end"),
        selectors=("first",),
        params={"se": {"ratio": (4,)}},
    )
    assert set(space.stages) == {1, 2}
    assert space.stages[1].blocks == ("none", "se")
    assert space.stages[1].positions["se"] == ("branch", "stage_end")
    for params, spec in _draw(space, 60):
        assert spec.stages[0].block == "none"
        assert "s0.block" not in params
        for stage in spec.stages[1:]:
            if stage.block == "se":
                assert stage.params == {"ratio": 4}
                assert stage.position in ("branch", "stage_end")
                assert stage.blocks == ("all" if stage.position == "stage_end" else "first")


def test_values_illegal_at_the_proxy_width_are_dropped() -> None:
    full, proxy = _space(), _space(proxy_width=0.25)
    assert 16 in full.stages[0].params["se"]["ratio"]
    assert proxy.stages[0].params["se"]["ratio"] == (4,)
    assert proxy.stages[2].params["se"]["ratio"] == (4, 8), "pre of block 0 sees 8 channels"


def test_params_for_rejects_what_the_space_cannot_draw() -> None:
    space = _space(stages=(2,), blocks=("none", "se"), selectors=("all",))
    assert space.params_for([{}, {}, {"block": "se"}]) == {
        "s2.block": "se",
        "s2.se.ratio": 16,
        "s2.se.position": "branch",
        "s2.se.blocks": "all",
    }
    assert space.params_for([{"block": "se"}, {}, {}]) is None
    assert space.params_for([{}, {}, {"block": "se", "blocks": "first"}]) is None
    assert space.params_for([{}, {}, {"block": "se", "params": {"ratio": 64}}]) is None
    with pytest.raises(ValueError, match=r"stages\[2\]\.blocks"):
        space.params_for([{}, {}, {"block": "se", "blocks": "x"}])


def test_references_with_the_whole_catalog() -> None:
    refs = reference_params(_space(proxy_width=0.5))
    declared = set(block_names())
    for name, layout in REFERENCES.items():
        blocks = {s.get("block", "none") for s in layout(3)}
        assert (name in refs) == (blocks <= declared), name
    assert next(iter(refs)) == "no_attention"
    se = refs["se_branch"]
    assert se["s0.se.ratio"] == 8 and se["s2.se.ratio"] == 16, "nearest legal ratio to 16"
    assert all(se[f"s{i}.se.position"] == "branch" for i in range(3))


def test_references_skip_blocks_the_config_does_not_allow() -> None:
    refs = reference_params(_space(blocks=("none", "se")))
    assert set(refs) == {"no_attention", "se_branch"}
    assert set(reference_params(_space(blocks=("se",)))) == {"se_branch"}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_every_reference_draws_its_own_spec(name: str) -> None:
    space = _space(proxy_width=0.5)
    params = reference_params(space).get(name)
    if params is None:
        pytest.skip(f"{name}: its blocks are not in this catalog")
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.enqueue_trial(params)
    spec = space.sample(study.ask())
    assert space.params_for([s.to_dict() for s in spec.stages]) == params


def test_default_config_space_is_every_stage() -> None:
    config = SearchConfig()
    space = SearchSpace(config.space, **SHAPE)
    assert set(space.stages) == {0, 1, 2}
    assert space.stages[2].blocks[0] == "none"
