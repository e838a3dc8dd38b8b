"""train_once, the plain-dict run that nas confirm, nas calibrate and the benchmarks share."""

from __future__ import annotations

from pathlib import Path

from searchspace.spec import ArchSpec
from workers.budget import ProxyBudget
from workers.data import DataConfig
from workers.one_run import train_once


def test_one_run_reports_its_curve_and_its_final_signals(
    fashion_dir: Path, tiny_spec: ArchSpec, tiny_budget: ProxyBudget
) -> None:
    curve: list[dict[str, float]] = []
    data = DataConfig(data_dir=str(fashion_dir), download=False).to_dict()
    result = train_once(
        tiny_spec.to_dict(), data, tiny_budget.to_dict(), on_epoch=lambda m: curve.append(m)
    )
    assert [m["epoch"] for m in curve] == [1, 2]
    assert result["val_accuracy"] == curve[-1]["val_accuracy"]
    assert result["signal/neg_tail_loss"] == -curve[-1]["train_loss_tail"]
    assert result["wall_time_s"] > 0


def test_a_refused_setting_is_one_line_not_an_exception(
    tiny_spec: ArchSpec, tiny_budget: ProxyBudget, tmp_path: Path
) -> None:
    data = DataConfig(data_dir=str(tmp_path / "none"), download=False).to_dict()
    result = train_once(tiny_spec.to_dict(), data, tiny_budget.to_dict())
    assert set(result) == {"error"} and "\n" not in result["error"]
