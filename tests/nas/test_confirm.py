"""``nas confirm``: the front retrained longer and stored beside the proxy values."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import optuna
import pytest
from optuna_dashboard import get_note

from nas.cli import build_parser, main
from nas.config import SearchConfig
from nas.confirm import confirm_budgets, confirmations
from nas.confirm.noise import UNMEASURED, report_noise
from nas.confirm.run import _store
from nas.confirm.store import Confirmation, estimate_of, proxy_score, save
from nas.pipeline import retry_command
from nas.results.front import StudyFront
from nas.results.noise_record import NoiseRecord
from nas.results.noise_record import save as save_noise
from nas.results.uncertainty import estimate
from storage import resolve_url
from storage.internals import storage_of, trial_id
from tests.nas.searches import small_search
from workers.budget import ProxyBudget


def test_the_default_confirmation_averages_two_seeds() -> None:
    """Two seeds are the fewest that measure the confirmation's own noise (docs/noise.md)."""
    config = SearchConfig.from_dict({})
    assert config.confirm.seeds == 2
    budgets = confirm_budgets(
        config.proxy, scale=config.confirm.scale, val_samples=config.confirm.val_samples,
        seeds=config.confirm.seeds,
    )  # fmt: skip
    assert [b.seed for b in budgets] == [config.proxy.seed, config.proxy.seed + 1]


def test_a_failed_confirmation_names_a_command_that_reaches_the_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nas search`` says how to retry a confirmation that failed (docs/search.md, step 8):
    the command must find the study where the search put it, not in the default storage."""
    monkeypatch.delenv("NAS_STORAGE", raising=False)
    url = f"sqlite:///{tmp_path / 'runs' / 'nas.db'}"
    argv = shlex.split(retry_command("my study", url))
    assert argv[:2] == ["nas", "confirm"]
    args = build_parser().parse_args(argv[1:])
    assert (args.study, resolve_url(args.storage)) == ("my study", url)


def test_budgets_scale_the_training_images_and_keep_the_recipe() -> None:
    proxy = ProxyBudget(epochs=3, train_samples=2000, val_samples=1000, seed=5)
    first, second = confirm_budgets(proxy, scale=4, val_samples=5000, seeds=2)
    assert (first.train_samples, first.epochs, first.val_samples) == (8000, 3, 5000)
    assert (first.seed, second.seed) == (5, 6)
    assert first.warmup_fraction == proxy.warmup_fraction and first.width == proxy.width
    (whole,) = confirm_budgets(
        ProxyBudget(epochs=2, train_samples=None), scale=3, val_samples=None, seeds=1
    )
    assert whole.train_samples is None and whole.epochs == 6, "the whole split: more epochs"


BUDGET = {"epochs": 3, "train_samples": 1200, "val_samples": 5000, "seed": 0}


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_seed_runs_measure_the_confirmations_noise_and_the_front_carries_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Confirmations stored as ``nas confirm`` stores them (no training): their seed runs pool
    into ``noise:confirm``, which is printed, and the front, its table, JSON, figure and the
    dashboard notes show each confirmed mean as ``mean ± SE (n)`` with its ties."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="c", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["val_accuracy", "macs"])
    for accuracy, macs in [(0.79, 40e6), (0.80, 41e6), (0.86, 60e6)]:
        study.add_trial(optuna.trial.create_trial(values=[accuracy, macs]))
    one = [Confirmation.of(study.trials[0], [0.80], BUDGET, 1.0)]
    save(study, one[0])
    stream = io.StringIO()
    assert report_noise(study, one, BUDGET, stream) is None, "one seed measures nothing"
    assert stream.getvalue().strip() == UNMEASURED and "noise:confirm" not in study.user_attrs

    runs = {0: [0.80, 0.81], 1: [0.82, 0.80], 2: [0.85, 0.86]}  # pooled sd 0.01 on 3 df
    done = [Confirmation.of(study.trials[n], a, BUDGET, 2.0) for n, a in runs.items()]
    for confirmation in done:
        save(study, confirmation)
    record = report_noise(study, done, BUDGET, stream)
    assert record is not None and (record.df, record.specs, record.runs) == (3, 3, 6)
    assert record.sd == pytest.approx(0.01) and record.val_images == 5000
    assert study.user_attrs["noise:confirm"] == record.to_json()
    line = stream.getvalue().splitlines()[-1]
    assert line.startswith("confirm noise: one run varies by ±0.032; differences under 0.040")
    note = get_note(optuna.trial.Trial(study, trial_id(study.trials[1])))
    assert "**0.810 ± 0.009 (n=2)**" in note and "per seed: 0.820, 0.800." in note

    front = StudyFront.load(storage_of(study), "c")
    assert front.ranked_by == "confirmed" and front.measured
    middle = next(m for m in front.members if m.number == 1)
    assert middle.confirmed_estimate == estimate_of(study, done[1])
    assert middle.estimate("confirmed").n == 2 and middle.tied_with == (0,)
    assert main(["pareto", "--storage", url, "--study", "c", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["noisy_front"] == [0, 1, 2], "the confirmed means dominate none beyond noise"
    by_trial = {e["trial"]: e for e in result["front"]}
    assert by_trial[1]["n"] == 2 and by_trial[1]["se"] == pytest.approx(
        middle.estimate("confirmed").se
    )
    assert by_trial[2]["tied_with"] == [] and by_trial[0]["tied_with"] == [1]
    figure = tmp_path / "front.png"
    assert main(["pareto", "--storage", url, "--study", "c", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "0.810 ± 0.009" in out and "confirm noise: one run varies by" in out
    assert figure.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"scale": 0.5}, r"^confirm\.scale: expected a number in \[1\.0, 1000\.0\]"),
        ({"seeds": 0}, r"^confirm\.seeds: expected an integer >= 1"),
        ({"after": True}, r"^confirm\.after: unknown key; allowed: after_search, "),
    ],
)
def test_confirm_section_is_checked_at_load(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchConfig.from_dict({"confirm": section})


@pytest.mark.slow
def test_nas_confirm_retrains_the_front_once_and_redo_trains_again(
    tmp_path: Path, ray_cluster: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = small_search(tmp_path, "confirm"), f"sqlite:///{tmp_path / 'nas.db'}"
    search = ["search", str(config), "--storage", url, "--trials", "4", "--no-confirm"]
    assert main([*search, "--sampler", "random", "--pruner", "none"]) == 0
    study = optuna.load_study(study_name="confirm", storage=url)
    assert not confirmations(study), "--no-confirm confirms nothing"
    members = {m.number: m for m in StudyFront.load(storage_of(study), "confirm").members}
    front = set(members)
    capsys.readouterr()

    later = tmp_path / "later.toml"  # [confirm] of a file; the rest of it is not read
    later.write_text("[proxy]\nepochs = 9\n[confirm]\nscale = 2.0\nval_samples = 150\n")
    args = ["confirm", "--study", "confirm", "--storage", url, "--config", str(later)]
    assert main(args) == 0
    plural = "member" if len(front) == 1 else "members"
    out, err = capsys.readouterr()
    assert f"{len(front)} front {plural} confirmed" in out
    assert "confirm noise: one run varies by ±" in err, "two seeds by default measure it"
    assert " ± " in out and "(n=2)" in out, "each member as mean ± SE (n)"
    assert "(n=2), SE of its own runs (proxy" in err, "before the pooled noise exists, it says so"
    runs = 2 * len(front)
    opening = f"confirm: {len(front)} front {plural} x 2 seeds on 600 training images x 3 epochs"
    assert f"{opening}: {runs} runs, " in err and "(from their search runs' times)" in err
    assert f"confirm: {runs}/{runs} runs done ({len(front)}/{len(front)} members confirmed, " in err
    assert "(proxy neg_tail_loss -" in out, "the proxy's score under its name, not as accuracy"
    study = optuna.load_study(study_name="confirm", storage=url)
    first = confirmations(study)
    assert set(first) == front
    for number, confirmation in first.items():
        trial = study.trials[number]
        assert confirmation.budget["train_samples"] == 600, "2x the proxy's 300 images"
        assert confirmation.budget["val_samples"] == 150, "the file's, not the proxy's 100"
        assert confirmation.budget["epochs"] == 3, "the study's proxy, not the file's"
        assert confirmation.budget["width"] == trial.user_attrs["proxy"]["width"]
        assert 0.0 < confirmation.val_accuracy <= 1.0 and len(confirmation.accuracies) == 2
        note = get_note(optuna.trial.Trial(study, trial_id(trial)))
        shown = estimate_of(study, confirmation).format()
        assert f"**{shown}**" in note, "the dashboard shows it on the trial with its noise"
        score = proxy_score(study, confirmation)  # "neg_tail_loss -1.12 ± 0.03" or bare
        assert f"(proxy {score})" in note
        value = score.split()[1]  # a replicated reference: the mean of its seeds, as pareto's
        assert float(value) == pytest.approx(
            members[number].proxy_accuracy, abs=10 ** -len(value.split(".")[1])
        )

    assert main(args) == 0, "confirmed members at the same budget are not trained again"
    assert confirmations(optuna.load_study(study_name="confirm", storage=url)) == first

    capsys.readouterr()
    assert main([*args, "--redo", "--seeds", "3", "--members", "1"]) == 0
    err = capsys.readouterr().err
    assert "(n=3), SE of its own runs (proxy" in err, "not the pooled record it measures again"
    again = confirmations(optuna.load_study(study_name="confirm", storage=url))
    best = max(front, key=lambda n: study.trials[n].values[0])
    assert len(again[best].accuracies) == 3 and again[best] != first[best]
    assert {n: again[n] for n in front - {best}} == {n: first[n] for n in front - {best}}

    assert main([*args, "--seeds", "2", "--members", "1", "--scale", "3"]) == 0
    scaled = confirmations(optuna.load_study(study_name="confirm", storage=url))[best]
    assert scaled.budget["train_samples"] == 900, "--scale 3 x 300 images, over the file's 2.0"


def test_nas_confirm_on_a_missing_study_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(study_name="other", storage=url)
    assert main(["confirm", "--study", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "nas confirm: error: study 'nope' is not in this storage; its studies: other"


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_member_confirmed_again_is_shown_with_its_own_runs_se_then_the_pooled_one(
    tmp_path: Path,
) -> None:
    """On a study confirmed before, the progress line of a member confirmed again gives the SE
    of its own runs and says so, not the old pooled record's, which the final table (pooled
    again with these runs) would contradict."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="c", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["val_accuracy", "macs"])
    for accuracy, macs in [(0.79, 40e6), (0.80, 41e6), (0.86, 60e6)]:
        study.add_trial(optuna.trial.create_trial(values=[accuracy, macs]))
    runs = {0: [0.80, 0.81], 1: [0.82, 0.80], 2: [0.85, 0.86]}
    done = [Confirmation.of(study.trials[n], a, BUDGET, 2.0) for n, a in runs.items()]
    for confirmation in done:
        save(study, confirmation)
    assert report_noise(study, done, BUDGET, io.StringIO()) is not None

    stream = io.StringIO()
    again = [{"val_accuracy": 0.76, "wall_time_s": 1.0}, {"val_accuracy": 0.86, "wall_time_s": 1.0}]
    _store(study, study.trials[1], again, BUDGET, lambda text: print(text, file=stream))
    line = stream.getvalue().strip()
    redone = confirmations(study)[1]
    old_pooled = estimate_of(study, redone)
    own = estimate(redone.accuracies, val_images=5000)
    assert line.startswith(f"trial 1: confirmed {own}, SE of its own runs (proxy val_accuracy")
    assert str(old_pooled) not in line
    report_noise(study, [redone], BUDGET, io.StringIO())
    assert estimate_of(study, redone) != old_pooled, "the table's SE is pooled again"


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_two_seed_reference_shows_the_mean_of_its_seeds_as_pareto_does(tmp_path: Path) -> None:
    """``nas confirm`` gives a replicated reference design's proxy score as the mean of its
    seeds with its SE, the value of ``nas pareto``, not its first seed's run."""
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = optuna.create_study(study_name="r", storage=url, directions=["maximize", "minimize"])
    study.set_metric_names(["neg_tail_loss", "macs"])
    trials = [
        (-2.21, 30e6, {"spec_id": "a", "reference": "no_attention"}),
        (-2.50, 35e6, {"spec_id": "b"}),
        (-2.11, 30e6, {"spec_id": "a", "replica_of": 0, "seed": 1}),
    ]
    for score, macs, attrs in trials:
        study.add_trial(optuna.trial.create_trial(values=[score, macs], user_attrs=attrs))
    record = NoiseRecord(sd=0.05, df=2, specs=2, runs=4, metric="neg_tail_loss", val_images=None)
    save_noise(study, "proxy", record)
    confirmation = Confirmation.of(study.trials[0], [0.80, 0.81], BUDGET, 2.0)
    save(study, confirmation)

    front = StudyFront.load(storage_of(study), "r", rank_by="proxy")
    member = next(m for m in front.members if m.number == 0)
    assert member.proxy_estimate is not None and member.proxy_estimate.n == 2
    shown = f"neg_tail_loss {member.proxy_estimate.text()}"
    assert proxy_score(study, confirmation) == shown == "neg_tail_loss -2.16 ± 0.04"
    stream = io.StringIO()
    _store(
        study, study.trials[0], [{"val_accuracy": 0.8, "wall_time_s": 1.0}], BUDGET,
        lambda text: print(text, file=stream),
    )  # fmt: skip
    assert f"(proxy {shown})" in stream.getvalue()
