"""``nas confirm``: the front retrained longer and stored beside the proxy values."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna_dashboard import get_note

from nas.cli import main
from nas.config import SearchConfig
from nas.confirm import confirm_budgets, confirmations
from nas.results.front import StudyFront
from storage.internals import storage_of, trial_id
from tests.nas.searches import small_search
from workers.budget import ProxyBudget


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
    front = {m.number for m in StudyFront.load(storage_of(study), "confirm").members}
    capsys.readouterr()

    later = tmp_path / "later.toml"  # [confirm] of a file; the rest of it is not read
    later.write_text("[proxy]\nepochs = 9\n[confirm]\nscale = 2.0\nval_samples = 150\n")
    args = ["confirm", "--study", "confirm", "--storage", url, "--config", str(later)]
    assert main(args) == 0
    plural = "member" if len(front) == 1 else "members"
    out = capsys.readouterr().out
    assert f"{len(front)} front {plural} confirmed" in out
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
        assert 0.0 < confirmation.val_accuracy <= 1.0
        note = get_note(optuna.trial.Trial(study, trial_id(trial)))
        assert f"{confirmation.val_accuracy:.4f}" in note, "the dashboard shows it on the trial"
        assert f"(proxy neg_tail_loss {trial.values[0]:.4f})" in note

    assert main(args) == 0, "confirmed members at the same budget are not trained again"
    assert confirmations(optuna.load_study(study_name="confirm", storage=url)) == first

    assert main([*args, "--redo", "--seeds", "2", "--members", "1"]) == 0
    again = confirmations(optuna.load_study(study_name="confirm", storage=url))
    best = max(front, key=lambda n: study.trials[n].values[0])
    assert len(again[best].accuracies) == 2 and again[best] != first[best]
    assert {n: again[n] for n in front - {best}} == {n: first[n] for n in front - {best}}


def test_nas_confirm_on_a_missing_study_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(study_name="other", storage=url)
    assert main(["confirm", "--study", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "nas confirm: error: study 'nope' is not in this storage; its studies: other"
