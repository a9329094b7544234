"""The CIFAR and ImageNet-folder loaders on tiny generated folders in their real on-disk formats.

Constant-colour images make the expected tensors hand values: resizing and cropping keep a
constant image constant, so each channel must equal (value / 255 - mean) / std."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from eventsnn.config import load_config
from eventsnn.data.images import build_image_datasets
from eventsnn.errors import DataError

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
COLOURS = [(200, 10, 60), (30, 140, 250), (90, 90, 90)]


def _expected(colour, norm) -> np.ndarray:
    mean, std = norm
    return np.array([(c / 255 - m) / s for c, m, s in zip(colour, mean, std)])


def test_imagenet_folder(tmp_path):
    classes = ["n01_cat", "n02_dog"]
    for split in ("train", "val"):
        for k, name in enumerate(classes):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(2):
                colour = COLOURS[(k + i) % 3]
                Image.new("RGB", (50, 40), colour).save(tmp_path / split / name / f"img{i}.png")
    cfg = load_config(None, ["data.dataset=imagenet", f"data.root={tmp_path}", "data.img_size=32"])
    train, test, info = build_image_datasets(cfg)
    assert info.num_classes == 2 and info.class_names == tuple(classes) and info.input_shape == (3, 32, 32)
    assert (len(train), len(test)) == (4, 4)
    for i, (k, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # sorted classes, sorted files
        x, y = test[i]
        assert y == k and tuple(x.shape) == (3, 32, 32)
        want = _expected(COLOURS[(k + j) % 3], IMAGENET)
        np.testing.assert_allclose(x.numpy(), np.broadcast_to(want[:, None, None], (3, 32, 32)), atol=1e-5)
    x, _ = train[0]
    assert tuple(x.shape) == (3, 32, 32)  # random resized crop + RandAugment still give the input size
    (tmp_path / "val" / "n03_extra").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "val" / "n03_extra" / "a.png")
    with pytest.raises(DataError, match="different class folders"):
        build_image_datasets(cfg)


def _cifar_batch(path, labels, key="labels"):
    data = np.stack([np.repeat(np.array(COLOURS[lab % 3], np.uint8), 32 * 32) for lab in labels])  # [N, 3072]
    with open(path, "wb") as f:
        pickle.dump({"data": data, key: list(labels)}, f)


def test_cifar10_folder(tmp_path, monkeypatch):
    import torchvision.datasets.cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for b in range(1, 6):
        _cifar_batch(folder / f"data_batch_{b}", [b % 10, (b + 1) % 10])
    _cifar_batch(folder / "test_batch", [0, 1, 2])
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names}, f)
    # the real loader reads these files; only its md5 check of the official archive's files is skipped
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    cfg = load_config(None, ["data.dataset=cifar10", f"data.root={tmp_path}"])
    train, test, info = build_image_datasets(cfg)
    assert info.num_classes == 10 and info.class_names == tuple(names) and info.input_shape == (3, 32, 32)
    assert (len(train), len(test)) == (10, 3)
    for i in range(3):
        x, y = test[i]
        assert y == i
        want = _expected(COLOURS[i % 3], CIFAR10)
        np.testing.assert_allclose(x.numpy(), np.broadcast_to(want[:, None, None], (3, 32, 32)), atol=1e-5)


def test_missing_cifar_folder_says_where_the_files_go(tmp_path):
    cfg = load_config(None, ["data.dataset=cifar100", f"data.root={tmp_path}"])
    with pytest.raises(DataError, match=r"CIFAR100 not found at .*cifar-100-python.*nothing is downloaded"):
        build_image_datasets(cfg)
    assert list(tmp_path.iterdir()) == []
