"""The reference configs against the values of the released code.

Sources: github.com/xyshi2000/SpikingResformer (configs/*/*.yaml, main.py load_data / main)
and github.com/NeuroSyd/DA-SSDP (SSDP-V5/model/configs, train.py: the same values). The
table gives what the released code *does*: e.g. its DVS configs say `mixup: True` and
`label_smoothing: 0.1`, but its DVS loaders have no mixup collate and the soft-target loss
gets plain one-hot labels, so both are off there.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from eventsnn.config import load_config
from eventsnn.data.images import image_transform

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# main.py: create_scheduler_v2(sched='cosine', cooldown_epochs=10, min_lr=1e-5, warmup_lr=1e-5,
# warmup_epochs=3), create_optimizer_v2(opt='adamw'), seed 12450, amp True
COMMON = dict(
    optimizer="adamw",
    scheduler="cosine",
    warmup_epochs=3,
    warmup_lr=1e-5,
    min_lr=1e-5,
    cooldown_epochs=10,
    seed=12450,
    amp=True,
)
# the image loaders (load_data): CIFAR FastCollateMixup(mixup 0.5, cutmix 0), ImageNet (0.2, 1.0)
CIFAR = dict(mixup=0.5, cutmix=0.0, label_smoothing=0.1)
IMAGENET = dict(mixup=0.2, cutmix=1.0, label_smoothing=0.1, img_size=224, T=4)
DVS = dict(mixup=0.0, cutmix=0.0, label_smoothing=0.0, dvs_augment=True, split_by="count", channels=3)

RELEASED = {
    "direct/cifar10.yaml": dict(
        source="configs/direct_training/cifar10.yaml",
        model="spikingresformer_cifar",
        epochs=600,
        batch_size=128,
        T=4,
        img_size=32,
        lr=5e-4,
        weight_decay=0.01,
        randaugment="rand-m7-n1-mstd0.5-inc1",
        **CIFAR,
    ),
    "direct/cifar100.yaml": dict(
        source="configs/direct_training/cifar100.yaml",
        model="spikingresformer_cifar",
        epochs=600,
        batch_size=128,
        T=4,
        img_size=32,
        lr=5e-4,
        weight_decay=0.01,
        randaugment="rand-m7-n1-mstd0.5-inc1",
        **CIFAR,
    ),
    "direct/cifar10dvs.yaml": dict(
        source="configs/direct_training/cifar10dvs.yaml",
        model="spikingresformer_cifar",
        epochs=300,
        batch_size=8,
        T=16,
        img_size=64,
        lr=5e-4,
        weight_decay=0.05,
        **DVS,
    ),
    "direct/dvs128gesture.yaml": dict(
        source="configs/direct_training/dvs128gesture.yaml",
        model="spikingresformer_dvsg",
        epochs=300,
        batch_size=8,
        T=16,
        img_size=64,
        lr=1e-4,
        weight_decay=0.05,
        **DVS,
    ),
    "transfer/cifar10.yaml": dict(
        source="configs/transfer/cifar10.yaml",
        model="spikingresformer_s",
        epochs=100,
        batch_size=128,
        T=4,
        img_size=128,
        lr=1e-4,
        weight_decay=0.01,
        randaugment="rand-m9-n1-mstd0.4-inc1",
        **CIFAR,
    ),
    "transfer/cifar100.yaml": dict(
        source="configs/transfer/cifar100.yaml",
        model="spikingresformer_s",
        epochs=150,
        batch_size=128,
        T=4,
        img_size=128,
        lr=1e-4,
        weight_decay=0.01,
        randaugment="rand-m9-n1-mstd0.4-inc1",
        **CIFAR,
    ),
    "transfer/cifar10dvs.yaml": dict(
        source="configs/transfer/cifar10dvs.yaml",
        model="spikingresformer_s",
        epochs=100,
        batch_size=48,
        T=10,
        img_size=128,
        lr=4e-5,
        weight_decay=0.01,
        **DVS,
    ),
    "transfer/dvs128gesture.yaml": dict(
        source="configs/transfer/dvs128gesture.yaml",
        model="spikingresformer_s",
        epochs=100,
        batch_size=48,
        T=10,
        img_size=128,
        lr=1e-4,
        weight_decay=0.05,
        **DVS,
    ),
    "imagenet/spikingresformer_ti.yaml": dict(
        source="configs/main/spikingresformer_ti.yaml",
        model="spikingresformer_ti",
        epochs=320,
        batch_size=32,
        lr=1e-3,
        weight_decay=0.01,
        randaugment="rand-m7-mstd0.5-inc1",
        sync_bn=False,
        **IMAGENET,
    ),
    "imagenet/spikingresformer_s.yaml": dict(
        source="configs/main/spikingresformer_s.yaml",
        model="spikingresformer_s",
        epochs=320,
        batch_size=32,
        lr=1e-3,
        weight_decay=0.01,
        randaugment="rand-m7-mstd0.5-inc1",
        sync_bn=False,
        **IMAGENET,
    ),
    "imagenet/spikingresformer_m.yaml": dict(
        source="configs/main/spikingresformer_m.yaml",
        model="spikingresformer_m",
        epochs=320,
        batch_size=28,
        lr=8e-4,
        weight_decay=0.01,
        randaugment="rand-m9-mstd0.5-inc1",
        sync_bn=False,
        **IMAGENET,
    ),
    "imagenet/spikingresformer_l.yaml": dict(
        source="configs/main/spikingresformer_l.yaml",
        model="spikingresformer_l",
        epochs=320,
        batch_size=16,
        lr=5e-4,
        weight_decay=0.01,
        randaugment="rand-m9-n3-mstd0.5-inc1",
        sync_bn=True,
        **IMAGENET,
    ),
}


def test_every_reference_config_is_in_the_table():
    found = {
        str(p.relative_to(CONFIGS))
        for d in ("direct", "transfer", "imagenet")
        for p in (CONFIGS / d).glob("*.yaml")
        if not p.stem.endswith("_released")  # the released variants: tests/test_released_variants.py
    }
    assert found == set(RELEASED)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_reference_config_matches_the_released_values(name):
    cfg = load_config(CONFIGS / name)
    want = {**COMMON, **RELEASED[name]}
    events = "split_by" in want
    got = dict(
        model=cfg.model.name,
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        T=cfg.framing.n_frames if events else cfg.model.T,
        img_size=cfg.framing.resize[0] if events else cfg.data.img_size,
        lr=cfg.optim.lr,
        weight_decay=cfg.optim.weight_decay,
        optimizer=cfg.optim.optimizer,
        scheduler=cfg.optim.scheduler,
        warmup_epochs=cfg.optim.warmup_epochs,
        warmup_lr=cfg.optim.warmup_lr,
        min_lr=cfg.optim.min_lr,
        cooldown_epochs=cfg.optim.cooldown_epochs,
        seed=cfg.train.seed,
        amp=cfg.train.precision != "fp32",  # mixed precision on (auto: fp16 + GradScaler on CUDA, as released)
        mixup=cfg.train.mixup,
        cutmix=cfg.train.cutmix,
        label_smoothing=cfg.train.label_smoothing,
    )
    if events:
        assert cfg.model.T in (None, want["T"])
        assert cfg.framing.resize[0] == cfg.framing.resize[1]
        got.update(
            dvs_augment=cfg.train.dvs_augment,
            split_by=cfg.framing.split_by,
            channels=2 + cfg.framing.polarity_sum_channel,
        )
    else:
        got["randaugment"] = cfg.train.randaugment
    if "sync_bn" in want:
        got["sync_bn"] = cfg.distributed.sync_bn
    want.pop("source")
    assert got == want


def _transformed(dataset: str, size: int, image: Image.Image) -> torch.Tensor:
    cfg = load_config(None, [f"data.dataset={dataset}", f"data.img_size={size}"])
    return image_transform(cfg)(image)


CIFAR10_NORM = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
CIFAR100_NORM = (tuple(v / 255 for v in (129.3, 124.1, 112.4)), tuple(v / 255 for v in (68.2, 65.4, 70.4)))
IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize(
    ("dataset", "norm"), [("cifar10", CIFAR10_NORM), ("cifar100", CIFAR100_NORM), ("imagenet", IMAGENET_NORM)]
)
def test_normalisation_is_the_released_one(dataset, norm):
    rgb = (129, 124, 112)
    out = _transformed(dataset, 32, Image.new("RGB", (32, 32), rgb))
    want = [(v / 255 - m) / s for v, m, s in zip(rgb, *norm)]
    assert out.mean((1, 2)).tolist() == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize(
    ("dataset", "crop_pct", "norm"),
    [("cifar10", 1.0, CIFAR10_NORM), ("cifar100", 1.0, CIFAR100_NORM), ("imagenet", 0.95, IMAGENET_NORM)],
)
def test_evaluation_center_crop_is_the_released_one(dataset, crop_pct, norm):
    import torchvision.transforms as T

    g = torch.Generator().manual_seed(0)
    image = T.functional.to_pil_image((torch.rand(3, 300, 260, generator=g) * 255).to(torch.uint8))
    # the released eval transform: short side to floor(224 / crop_pct), center crop 224, normalise
    reference = T.Compose(
        [
            T.Resize(math.floor(224 / crop_pct), interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(*norm),
        ]
    )
    out = _transformed(dataset, 224, image)
    assert out.shape == (3, 224, 224)
    assert torch.allclose(out, reference(image), atol=1e-4)
