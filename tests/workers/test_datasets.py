"""Each on-disk format, written byte for byte as the real files are, read back."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from tests.workers.datasets import write_cifar, write_fashion_mnist, write_image_folder
from workers.data import DataConfig, dataset_shape
from workers.datasets import ImageTensors, fashion_mnist


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    images, labels = write_fashion_mnist(tmp_path, n=50, gz=gz)
    cfg = DataConfig(data_dir=str(tmp_path), download=False)
    assert dataset_shape(cfg) == (1, 28, 10)
    loaded = cfg.source().load_train(28)
    assert isinstance(loaded, ImageTensors)
    assert torch.equal(loaded.images, torch.from_numpy(images))
    assert loaded.labels.tolist() == labels.tolist()


def test_fashion_mnist_in_torchvision_raw_folder(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path / "FashionMNIST" / "raw", n=20)
    assert dataset_shape(DataConfig(data_dir=str(tmp_path), download=False)) == (1, 28, 10)


def test_truncated_idx_is_a_clear_error(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=20, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt, re-download"):
        DataConfig(data_dir=str(tmp_path), download=False).source().load_train(28)


def test_not_idx_is_a_clear_error(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n=20)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"PK\x03\x04garbage"))
    with pytest.raises(ValueError, match="not an IDX file"):
        dataset_shape(DataConfig(data_dir=str(tmp_path), download=False))


def test_missing_everywhere_names_the_three_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [str(tmp_path / "nowhere")])
    monkeypatch.setattr(fashion_mnist, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    with pytest.raises(ValueError) as info:
        dataset_shape(DataConfig(data_dir=str(tmp_path / "empty"), download=False))
    message = str(info.value)
    for way in ("--data-dir", "NAS_DATA_DIR", "apt-get install dataset-fashion-mnist"):
        assert way in message


def test_env_var_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", [])
    write_fashion_mnist(tmp_path / "env", n=20)
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path / "env"))
    assert dataset_shape(DataConfig(download=False)) == (1, 28, 10)


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_pickle_round_trip(tmp_path: Path, classes: int) -> None:
    images, labels = write_cifar(tmp_path, classes)
    cfg = DataConfig(dataset=f"cifar{classes}", data_dir=str(tmp_path), download=False)
    assert dataset_shape(cfg) == (3, 32, classes)
    loaded = cfg.source().load_train(32)
    assert isinstance(loaded, ImageTensors)
    # the 3072-byte rows are planar RGB, row-major: pixel (c, y, x) is byte c*1024 + y*32 + x
    assert torch.equal(loaded.images, torch.from_numpy(images))
    assert loaded.labels.tolist() == labels.tolist()


def test_cifar_missing_batches_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"data_batch_1.*not found"):
        dataset_shape(DataConfig(dataset="cifar10", data_dir=str(tmp_path), download=False))


def test_image_folder_shape_and_decoding(tmp_path: Path) -> None:
    write_image_folder(tmp_path)
    cfg = DataConfig(dataset="imagefolder", data_dir=str(tmp_path))
    assert dataset_shape(cfg) == (3, 20, 3)
    folder = cfg.source().load_train(16)
    image, label = folder[0]  # type: ignore[index]
    assert image.dtype == torch.uint8 and image.shape == (3, 16, 16)
    assert label == 0


def test_image_folder_needs_classes(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="at least two classes"):
        dataset_shape(DataConfig(dataset="imagefolder", data_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="pass --data-dir"):
        dataset_shape(DataConfig(dataset="imagefolder"))
