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
from eventsnn.data.splits import per_class_split
from eventsnn.errors import DataError

# The released SpikingResformer / DA-SSDP data pipelines (`main.py` / `train.py` load_data):
# (mean, std) per data set, and the test-time center crop (resize to size / crop_pct, crop size).
NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": (
        tuple(v / 255 for v in (129.3, 124.1, 112.4)),
        tuple(v / 255 for v in (68.2, 65.4, 70.4)),
    ),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
EVAL_CROP_PCT = {"cifar10": 1.0, "cifar100": 1.0, "imagenet": 0.95}


@dataclass(frozen=True)
class ImageDataInfo:
    """What the model needs to know about an image data set."""

    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]  # [C, H, W]


class DigitsImages(Dataset):
    """scikit-learn's 1,797 real 8x8 digit images (bundled, no download), upscaled.

    Split: `eventsnn.data.splits.per_class_split` (per class, the first floor(n_c * train_fraction)
    images in file order train: 1,612 / 185 at 0.9, as the event digits).
    Items: `(image [1, S, S] in [0, 1], label)`.
    """

    def __init__(self, train: bool, *, size: int = 32, train_fraction: float = 0.9) -> None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]  # [N,1,8,8]
        images = digits_to_input(images, size)
        labels = np.asarray(digits.target)
        train_idx, test_idx = per_class_split(labels, train_fraction)
        keep = train_idx if train else test_idx
        self.images = images[keep]
        self.labels = torch.from_numpy(labels[keep].astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def _require_dir(path: Path, what: str, layout: str) -> None:
    if not path.is_dir():
        raise DataError(f"{what} not found at {path}: put the files there ({layout}); nothing is downloaded")


def image_transforms(cfg: RunConfig):
    """(train, test) timm transforms of `cfg.data.dataset` in {cifar10, cifar100, imagenet}.

    As the released pipelines: bicubic, the data set's own normalisation (`NORMALIZATION`),
    test-time center crop `EVAL_CROP_PCT`; CIFAR trains on flips + RandAugment at full scale,
    ImageNet on timm's default random resized crops + RandAugment.
    """
    from timm.data import create_transform

    name = cfg.data.dataset
    if name not in NORMALIZATION:
        raise DataError(f"data.dataset: {name!r} is not an image data set ({', '.join(NORMALIZATION)})")
    mean, std = NORMALIZATION[name]
    common = dict(interpolation="bicubic", mean=mean, std=std)
    if name == "imagenet":
        size = cfg.data.img_size or 224
        augment = cfg.train.randaugment
        train = create_transform(input_size=size, is_training=True, auto_augment=augment, **common)
    else:
        size = cfg.data.img_size or 32
        train = create_transform(
            input_size=size,
            is_training=True,
            scale=(1.0, 1.0),
            ratio=(1.0, 1.0),
            hflip=0.5,
            vflip=0.0,
            color_jitter=0.0,
            auto_augment=cfg.train.randaugment,
            **common,
        )
    test = create_transform(input_size=size, is_training=False, crop_pct=EVAL_CROP_PCT[name], **common)
    return train, test


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
    test = image_transforms(cfg)[1]
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
        t_train, t_test = image_transforms(cfg)
        train = cls(str(root), train=True, transform=t_train, download=False)
        test = cls(str(root), train=False, transform=t_test, download=False)
        return train, test, ImageDataInfo(len(train.classes), tuple(train.classes), (3, size, size))
    if name == "imagenet":
        import torchvision

        for split in ("train", "val"):
            _require_dir(root / split, f"ImageNet {split} split", f"{root}/{split}/<class>/<image>")
        size = cfg.data.img_size or 224
        t_train, t_test = image_transforms(cfg)
        train = torchvision.datasets.ImageFolder(str(root / "train"), transform=t_train)
        test = torchvision.datasets.ImageFolder(str(root / "val"), transform=t_test)
        if train.classes != test.classes:
            raise DataError(f"{root}: train/ and val/ have different class folders")
        return train, test, ImageDataInfo(len(train.classes), tuple(train.classes), (3, size, size))
    raise DataError(f"data.dataset: {name!r} is not an image data set")
