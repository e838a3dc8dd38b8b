"""``nas.config``: TOML parsing, defaults, CLI overrides and field-level errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nas.cli import main
from nas.config import SearchConfig
from workers.budget import ProxyBudget

EXAMPLE = Path(__file__).parents[3] / "docs" / "search.example.toml"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "search.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_documented_ones() -> None:
    config = SearchConfig()
    assert config.search.sampler == "nsga2"
    assert config.search.pruner == "pareto"
    assert config.space.backbone == "resnet20"
    assert config.space.stages is None and config.space.blocks is None
    assert config.proxy == ProxyBudget()  # one set of proxy defaults: the workers'
    assert config.objectives.names == ("neg_tail_loss", "macs")  # docs/fidelity.md
    assert config.objectives.directions == ("maximize", "minimize")


def test_example_config_parses_and_round_trips() -> None:
    config = SearchConfig.from_toml(EXAMPLE)
    assert SearchConfig.from_dict(config.to_dict()) == config


def test_full_file(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
[search]
study = "demo"
trials = 5
sampler = "tpe"
pruner = "none"
[space]
backbone = "resnet32"
stages = [1, 2]
blocks = ["none", "se"]
positions = ["branch", "stage_end"]
selectors = ["all"]
[space.params.se]
ratio = [4, 8]
[proxy]
epochs = 1
[objectives]
extra = ["params"]
[resources]
cpus_per_trial = 2
gpus_per_trial = 0.5
""",
    )
    config = SearchConfig.from_toml(path)
    assert config.search.study == "demo" and config.search.trials == 5
    assert config.space.stages == (1, 2)
    assert config.space.params == {"se": {"ratio": (4, 8)}}
    assert config.proxy.epochs == 1
    assert config.proxy.train_samples == ProxyBudget().train_samples
    assert config.objectives.directions == ("maximize", "minimize", "minimize")
    assert config.resources.gpus_per_trial == 0.5


def test_gpus_per_trial_may_be_auto(tmp_path: Path) -> None:
    config = SearchConfig.from_toml(_toml(tmp_path, '[resources]\ngpus_per_trial = "auto"'))
    assert config.resources.gpus_per_trial == "auto"
    one = SearchConfig.from_toml(_toml(tmp_path, "[resources]\ngpus_per_trial = 1"))
    assert one.resources.gpus_per_trial == 1.0


def test_overrides_replace_only_given_keys() -> None:
    config = SearchConfig().with_overrides(trials=3, seed=None, sampler="random")
    assert config.search.trials == 3
    assert config.search.seed == 0
    assert config.search.sampler == "random"
    with pytest.raises(ValueError, match=r"^search\.trials: expected an integer >= 1"):
        SearchConfig().with_overrides(trials=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[search]\nsamplr = "nsga2"', r"^search\.samplr: unknown key; allowed: study, "),
        (
            '[search]\nsampler = "cmaes"',
            r"^search\.sampler: 'cmaes' is not allowed; allowed: nsga2",
        ),
        ("[search]\ntrials = 0", r"^search\.trials: expected an integer >= 1, got 0"),
        ("[search]\nconcurrency = true", r"^search\.concurrency: expected an integer"),
        ("[serch]\ntrials = 1", r"^serch: unknown section; allowed: search, space"),
        ('[space]\nblocks = ["se", "sqeeze"]', r"^space\.blocks\[1\]: 'sqeeze' is not allowed"),
        ('[space]\nbackbone = "resnet21"', r"^space\.backbone: 'resnet21' is not allowed"),
        ("[space]\nstages = [0, 3]", r"^space\.stages\[1\]: resnet20 has stages 0\.\.2, got 3"),
        ("[space]\nwidth = 0", r"^space\.width: expected a number in \(0, 8\]"),
        ('[space]\npositions = ["middle"]', r"^space\.positions\[0\]: 'middle' is not allowed"),
        ("[space.params.se]\nratio = [0]", r"^space\.params\.se\.ratio\[0\]: must be >= 1"),
        ('[space.params.se]\nratio = ["x"]', r"^space\.params\.se\.ratio\[0\]: must be one of"),
        (
            "[space.params.se]\nratoi = [4]",
            r"^space\.params\.se\.ratoi: unknown key; allowed: ratio",
        ),
        ("[space.params.nope]\nratio = [4]", r"^space\.params\.nope: unknown block"),
        ('[objectives]\nextra = ["flops"]', r"^objectives\.extra\[0\]: 'flops' is not allowed"),
        ("[resources]\ncpus_per_trial = 0", r"^resources\.cpus_per_trial: expected a number"),
        (
            '[resources]\ngpus_per_trial = "many"',
            r"^resources\.gpus_per_trial: expected a number in \[0\.0, 64\.0\] or 'auto', "
            "got 'many'",
        ),
        ("[space]\nstages = []", r"^space\.stages: expected a non-empty list"),
        ("[space]\nstages = [1, 1]", r"^space\.stages: has duplicates"),
        ("[proxy]\nepoch = 3", r"^proxy\.epoch: unknown key; allowed: epochs, "),
        ("[proxy]\nepochs = 0", r"^proxy\.epochs: expected an integer >= 1"),
        ("[proxy]\nwarmup_fraction = 0.9", r"^proxy\.warmup_fraction: expected a number in"),
        ('[proxy]\noptimizer = "adam"', r"^proxy\.optimizer: 'adam' is not one of sgd"),
        ("[data]\nfolder = 'x'", r"^data\.folder: unknown key; allowed: dataset, "),
        ('[data]\ndataset = "mnist"', r"^data\.dataset: unknown 'mnist'"),
        ("[data]\nval_fraction = 1.5", r"^data\.val_fraction: expected a number"),
        ("[pruner]\nmin_resourse = 1", r"^pruner\.min_resourse: unknown"),
    ],
)
def test_errors_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchConfig.from_toml(_toml(tmp_path, text))


def test_params_of_a_block_not_allowed(tmp_path: Path) -> None:
    text = '[space]\nblocks = ["none", "se"]\n[space.params.cbam]\nratio = [8]'
    with pytest.raises(ValueError, match=r"^space\.params\.cbam: block is not in space\.blocks"):
        SearchConfig.from_toml(_toml(tmp_path, text))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not valid TOML"):
        SearchConfig.from_toml(_toml(tmp_path, "[search\n"))
    with pytest.raises(ValueError, match="does not exist"):
        SearchConfig.from_toml(tmp_path / "missing.toml")


def test_cli_reports_config_error_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _toml(tmp_path, '[search]\nsamplr = "tpe"')
    assert main(["search", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas search: error: search.samplr: unknown key; allowed:")
    assert len(err.strip().splitlines()) == 1


def test_example_is_the_defaults() -> None:
    """Its header says "every key, with its default": ``nas search docs/search.example.toml``
    searches the same space, with the same sampler, pruner and proxy, as ``nas search``."""
    from nas.plugins import PRUNERS, SAMPLERS
    from nas.space import SearchSpace

    example, default = SearchConfig.from_toml(EXAMPLE), SearchConfig()
    for section in (
        "search",
        "data",
        "proxy",
        "objectives",
        "resources",
        "confirm",
        "calibrate",
        "noise",
    ):
        assert getattr(example, section) == getattr(default, section), section
    shape = {"in_channels": 1, "input_size": 28, "num_classes": 10}
    for proxy_width in (None, default.proxy.width):  # the narrow proxy hides wide values
        space = SearchSpace(example.space, **shape, proxy_width=proxy_width).distributions()
        assert space == SearchSpace(default.space, **shape, proxy_width=proxy_width).distributions()
    assert example.sampler.items() <= SAMPLERS.options(default.search.sampler).items()
    assert example.pruner.items() <= PRUNERS.options(default.search.pruner).items()


def test_example_data_and_proxy_are_valid_worker_settings() -> None:
    config = SearchConfig.from_toml(EXAMPLE)
    assert config.data.dataset == "fashion_mnist"
    assert config.proxy == ProxyBudget(), "the example shows the defaults"


def test_example_pruner_options_reach_the_search_pruner() -> None:
    """The example's ``[pruner]`` options, and its promise that ``max_resource`` is the
    proxy's epochs, hold for the pruner the search builds."""
    from nas.pruning import ParetoPruner
    from nas.search.study import pruner_for

    config = SearchConfig.from_toml(EXAMPLE)
    assert config.pruner, "the example shows the pruner's options"
    pruner = pruner_for(config, config.proxy.epochs)
    assert isinstance(pruner, ParetoPruner)
    assert {key: getattr(pruner, key) for key in config.pruner} == dict(config.pruner)
    assert pruner.max_resource == config.proxy.epochs
