"""Build what a run needs from its config: data, model, optimizer, schedule, mixup (the loss:
`eventsnn.models.readout`).

timm does what timm does well here: `create_optimizer_v2` (AdamW), `create_scheduler_v2`
(cosine with warm-up, stepped per epoch as in the reference), `Mixup` (mixup / cutmix with
label smoothing) and soft-target cross-entropy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from eventsnn.checkpoint import Checkpoint, DataDescription
from eventsnn.config import RunConfig
from eventsnn.data import build_event_datasets
from eventsnn.data.cache import frame_shape
from eventsnn.data.device import DeviceBatches, IndexedCounts, derive_on_device
from eventsnn.data.images import build_image_datasets
from eventsnn.data.recordings import sensor_size_for
from eventsnn.data.sampling import EpochSampler, SeededDataset
from eventsnn.data.sets import list_datasets
from eventsnn.data.user import FramedDataset, user_data_info
from eventsnn.engine.augment import dvs_augment
from eventsnn.errors import ConfigError, DataError
from eventsnn.events.recording_stats import RecordingStats, measure_recordings
from eventsnn.models.registry import build_model

EVENT_DATASETS = tuple(list_datasets())  # the registry's names


@dataclass
class DataBundle:
    """Train / test sets plus what the model needs to know about them."""

    train: Dataset
    test: Dataset
    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]  # events: [T, C, H, W]; images: [C, H, W]
    kind: Literal["events", "images"]
    sensor_size: tuple[int, int, int] | None = None  # events: (W, H, P) of the recordings
    train_recordings: tuple | None = None  # events: the training recordings (files or Sources)
    _recordings: list[RecordingStats | None] = field(default_factory=list, init=False, repr=False)

    def describe(self) -> DataDescription:
        """What a model needs to know about the data (stored in checkpoints as `'data'`), with the
        training recordings' statistics (measured on the first call: `measure_recordings`)."""
        if not self._recordings:
            self._recordings.append(measure_recordings(self.train_recordings or ()))
        return DataDescription(
            self.kind, self.class_names, self.input_shape, self.sensor_size, recordings=self._recordings[0]
        )


def build_datasets(cfg: RunConfig) -> DataBundle:
    """The configured data set (event cache or images), with the training augmentation."""
    if cfg.data.dataset in EVENT_DATASETS:
        train, test, info = build_event_datasets(cfg)
        _refuse_empty_test(cfg, len(train), len(test))
        augment = dvs_augment if cfg.train.dvs_augment else None
        return DataBundle(
            SeededDataset(train, cfg.train.seed, augment),
            test,
            info.num_classes,
            tuple(info.class_names),
            tuple(info.input_shape),
            "events",
            tuple(info.sensor_size),
            train_recordings=getattr(train, "paths", None),
        )

    train, test, info = build_image_datasets(cfg)
    return DataBundle(
        SeededDataset(train, cfg.train.seed),
        test,
        info.num_classes,
        info.class_names,
        info.input_shape,
        "images",
    )


def user_datasets(
    cfg: RunConfig,
    train: Dataset,
    test: Dataset,
    class_names: tuple[str, ...] | None = None,
    sensor_size: tuple[int, ...] | None = None,
) -> DataBundle:
    """A user's torch data sets of events (framed with `cfg.framing`) or frames as a `DataBundle`."""
    sensor = None
    if sensor_size is not None:
        w, h, *rest = (int(v) for v in sensor_size)
        sensor = (w, h, rest[0] if rest else 2)
    tr = FramedDataset(train, sensor, cfg.framing, "train_dataset")
    te = FramedDataset(test, sensor, cfg.framing, "test_dataset")
    info = user_data_info(tr, te, class_names)
    augment = dvs_augment if cfg.train.dvs_augment else None
    return DataBundle(
        SeededDataset(tr, cfg.train.seed, augment),
        te,
        len(info.class_names),
        info.class_names,
        info.input_shape,
        "events",
        sensor,
    )


def _refuse_empty_test(cfg: RunConfig, n_train: int, n_test: int) -> None:
    """An empty test split would report 0.00% top-1 and keep a meaningless best checkpoint."""
    if n_test == 0:
        raise DataError(
            f"{cfg.data.dataset}: the test split is empty ({n_train} training items, "
            f"data.train_fraction={cfg.data.train_fraction:g} per class, skipped recordings left out); "
            "lower data.train_fraction or add recordings"
        )


def build_loader(
    dataset: Dataset,
    batch_size: int,
    sampler: EpochSampler,
    num_workers: int,
    *,
    train: bool,
    persistent: bool = False,
) -> DataLoader:
    """Pinned memory on CUDA; `persistent` workers with prefetch for data sets whose items do not
    depend on the epoch (the device path's counts: the epoch's seeds are made on the device side)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=train,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=persistent and num_workers > 0,
        prefetch_factor=4 if persistent and num_workers > 0 else None,
    )


@dataclass
class RunLoaders:
    """The DataLoaders of a run and the batches its loop reads (the loaders themselves, or on the
    device path their integer counts derived and augmented on the device per batch)."""

    train_loader: DataLoader
    test_loader: DataLoader
    train_batches: Any
    test_batches: Any
    on_device: bool


def run_loaders(
    cfg: RunConfig, data: DataBundle, train_sampler: EpochSampler, test_sampler: Any, device: torch.device
) -> RunLoaders:
    """The loaders of `data.train` / `data.test`; on the device path (`data.derive_on`), integer
    counts travel to `device` and are derived and augmented there per batch (eventsnn.data.device)."""
    bs, workers = cfg.train.batch_size, cfg.data.num_workers
    train, test = data.train, data.test
    base = getattr(train, "base", None)
    on_device = derive_on_device(cfg.data.derive_on, device, base) and hasattr(test, "counts")
    if on_device:
        train, test = IndexedCounts(base), IndexedCounts(test)
    train_loader = build_loader(train, bs, train_sampler, workers, train=True, persistent=on_device)
    eval_bs = cfg.train.eval_batch_size or bs
    test_loader = build_loader(test, eval_bs, test_sampler, workers, train=False, persistent=on_device)
    if not on_device:
        return RunLoaders(train_loader, test_loader, train_loader, test_loader, False)
    augment = data.train.augment  # type: ignore[attr-defined]
    return RunLoaders(
        train_loader,
        test_loader,
        DeviceBatches(train_loader, device, base.derive, augment=augment, seed=cfg.train.seed),
        DeviceBatches(test_loader, device, test.base.derive),
        True,
    )


def build_optimizer(cfg: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    from timm.optim import create_optimizer_v2

    o = cfg.optim
    kwargs: dict[str, Any] = {}
    if o.optimizer.lower() in ("sgd", "momentum", "nesterov"):
        kwargs["momentum"] = o.momentum
    return create_optimizer_v2(model, opt=o.optimizer, lr=o.lr, weight_decay=o.weight_decay, **kwargs)


def build_scheduler(cfg: RunConfig, optimizer: torch.optim.Optimizer):
    """Per-epoch schedule (`scheduler.step(epoch)`); None when `optim.scheduler` is 'none'."""
    from timm.scheduler import create_scheduler_v2

    o = cfg.optim
    if o.scheduler == "none":
        return None
    scheduler, _ = create_scheduler_v2(
        optimizer,
        sched=o.scheduler,
        num_epochs=cfg.train.epochs,
        warmup_epochs=o.warmup_epochs,
        warmup_lr=o.warmup_lr,
        min_lr=o.min_lr,
        cooldown_epochs=o.cooldown_epochs,
    )
    return scheduler


def build_mixup(cfg: RunConfig, num_classes: int):
    """timm Mixup / CutMix (labels become soft targets with label smoothing), or None.

    Event frames `[B, T, C, H, W]` are mixed as `[B, T*C, H, W]`: timm cuts its CutMix box out
    of dims 2 and 3, which for 5-D input would be C and H instead of H and W.
    """
    t = cfg.train
    if t.mixup <= 0 and t.cutmix <= 0:
        return None
    from timm.data import Mixup

    mix = Mixup(
        mixup_alpha=t.mixup,
        cutmix_alpha=t.cutmix,
        prob=t.mixup_prob,
        switch_prob=0.5,
        mode="batch",
        label_smoothing=t.label_smoothing,
        num_classes=num_classes,
    )
    return functools.partial(_mix_frames, mix)


def _mix_frames(mix, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`mix(x, y)` on images `[B, C, H, W]`, or on frames `[B, T, C, H, W]` folded to `[B, T*C, H, W]`
    (one box / one lambda for every time step and channel of a sample)."""
    if x.dim() == 5:
        B, T, C, H, W = x.shape
        xm, soft = mix(x.reshape(B, T * C, H, W), y)
        return xm.reshape(B, T, C, H, W), soft
    return mix(x, y)


def check_frames_fit_model(cfg: RunConfig, init_checkpoint: str | None = None) -> None:
    """Before any preprocessing: the configured model runs on one zero item of the frames the
    config makes (`[1, T, C, H, W]`, eval mode, no gradient); frames too small for its
    convolutions (`framing.resize: [3, 3]`) are one `ConfigError` instead of an error inside
    torch after the whole cache was built. `init_checkpoint` (finetune, model.pretrained) is
    loaded into it with the transfer rules first, so weights that do not fit are said before
    the cache is built too. Image data sets are not checked."""
    if cfg.data.dataset not in EVENT_DATASETS or cfg.framing.n_frames is None:
        return
    shape = frame_shape(cfg.framing, sensor_size_for(cfg))
    model = build_model(cfg.model, 2, shape)
    if init_checkpoint:
        Checkpoint.load(init_checkpoint).load_weights(model, transfer=True)
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *shape))
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise ConfigError(
            f"frames [T, C, H, W]={list(shape)} are too small for model {cfg.model.name} ({reason}); "
            "use a larger framing.resize (or none)"
        ) from None
