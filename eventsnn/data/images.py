"""Static-image data sets: the embedded digits, CIFAR-10/100 and ImageNet-style folders.

Nothing is downloaded: CIFAR is read by torchvision from a local folder, ImageNet from
`<root>/train/<class>/*` and `<root>/val/<class>/*`. A missing folder raises `DataError`
saying where the files go. Items are `(image [C, H, W] float, label int)`; the model
repeats an image over its T time steps (direct encoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from eventsnn.config import RunConfig
from eventsnn.errors import DataError

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ImageDataInfo:
    """What the model needs to know about an image data set."""

    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]  # [C, H, W]


class DigitsImages(Dataset):
    """scikit-learn's 1,797 real 8x8 digit images (bundled, no download), upscaled.

    Split: per class, the first `train_fraction` of the images (in file order) train.
    Items: `(image [1, S, S] in [0, 1], label)`.
    """

    def __init__(self, train: bool, *, size: int = 32, train_fraction: float = 0.9) -> None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]  # [N,1,8,8]
        images = digits_to_input(images, size)
        labels = np.asarray(digits.target)
        keep = per_class_split(labels, train_fraction, train)
        self.images = images[keep]
        self.labels = torch.from_numpy(labels[keep].astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def per_class_split(labels: np.ndarray, train_fraction: float, train: bool) -> np.ndarray:
    """Indices of the train (first fraction of each class, in order) or test part."""
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_train = round(len(idx) * train_fraction)
        keep.append(idx[:n_train] if train else idx[n_train:])
    return np.sort(np.concatenate(keep))


def _require_dir(path: Path, what: str, layout: str) -> None:
    if not path.is_dir():
        raise DataError(f"{what} not found at {path}: put the files there ({layout}); nothing is downloaded")


def _cifar_transforms(cfg: RunConfig, size: int):
    from timm.data import create_transform

    train = create_transform(
        input_size=size,
        is_training=True,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        hflip=0.5,
        vflip=0.0,
        color_jitter=0.0,
        auto_augment=cfg.train.randaugment,
        interpolation="bicubic",
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
    )
    test = create_transform(
        input_size=size,
        is_training=False,
        interpolation="bicubic",
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        crop_pct=1.0,
    )
    return train, test


def _imagenet_test_transform(size: int):
    from timm.data import create_transform

    return create_transform(
        input_size=size, is_training=False, interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD
    )


def digits_to_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """Digit intensities `[N, 1, h, w]` in [0, 1] -> `[N, 1, size, size]` (bilinear, clamped to [0, 1])."""
    out = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp_(0.0, 1.0)


def image_transform(cfg: RunConfig):
    """The test-time transform of the configured image data set for one image file (PIL image).

    digits: grey levels / 255, then `digits_to_input` (as `DigitsImages`); CIFAR and ImageNet:
    RGB, then the data set's own test transform. Returns a callable PIL image -> `[C, H, W]`.
    """
    name = cfg.data.dataset
    if name == "digits":
        size = cfg.data.img_size or 32

        def digits(image) -> torch.Tensor:
            grey = torch.from_numpy(np.asarray(image.convert("L"), dtype=np.float32) / 255.0)
            return digits_to_input(grey[None, None], size)[0]

        return digits
    if name in ("cifar10", "cifar100"):
        test = _cifar_transforms(cfg, cfg.data.img_size or 32)[1]
    elif name == "imagenet":
        test = _imagenet_test_transform(cfg.data.img_size or 224)
    else:
        raise DataError(f"data.dataset: {name!r} is not an image data set")
    return lambda image: test(image.convert("RGB"))


def build_image_datasets(cfg: RunConfig) -> tuple[Dataset, Dataset, ImageDataInfo]:
    """Train and test sets for `cfg.data.dataset` in {digits, cifar10, cifar100, imagenet}."""
    name = cfg.data.dataset
    if name == "digits":
        size = cfg.data.img_size or 32
        train = DigitsImages(True, size=size, train_fraction=cfg.data.train_fraction)
        test = DigitsImages(False, size=size, train_fraction=cfg.data.train_fraction)
        return train, test, ImageDataInfo(10, tuple(str(i) for i in range(10)), (1, size, size))
    root = Path(cfg.data.root)
    if name in ("cifar10", "cifar100"):
        import torchvision

        cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
        folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
        _require_dir(root / folder, name.upper(), f"{root}/{folder}/ as extracted from the official archive")
        size = cfg.data.img_size or 32
        t_train, t_test = _cifar_transforms(cfg, size)
        train = cls(str(root), train=True, transform=t_train, download=False)
        test = cls(str(root), train=False, transform=t_test, download=False)
        return train, test, ImageDataInfo(len(train.classes), tuple(train.classes), (3, size, size))
    if name == "imagenet":
        import torchvision
        from timm.data import create_transform

        for split in ("train", "val"):
            _require_dir(root / split, f"ImageNet {split} split", f"{root}/{split}/<class>/<image>")
        size = cfg.data.img_size or 224
        t_train = create_transform(
            input_size=size,
            is_training=True,
            auto_augment=cfg.train.randaugment,
            interpolation="bicubic",
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
        )
        t_test = _imagenet_test_transform(size)
        train = torchvision.datasets.ImageFolder(str(root / "train"), transform=t_train)
        test = torchvision.datasets.ImageFolder(str(root / "val"), transform=t_test)
        if train.classes != test.classes:
            raise DataError(f"{root}: train/ and val/ have different class folders")
        return train, test, ImageDataInfo(len(train.classes), tuple(train.classes), (3, size, size))
    raise DataError(f"data.dataset: {name!r} is not an image data set")
