"""Typed, frozen configuration sections for every eventsnn job.

Each section is a frozen dataclass (hashable, printable, immutable); sequences are tuples
so that a section can be hashed into a cache key. `RunConfig` groups the sections. The
YAML loader in `eventsnn.config.loader` builds these from files and rejects unknown keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DatasetName = Literal[
    "digits_dvs",  # embedded demo: sklearn digits through the DVS emulator (.aedat4)
    "cifar10dvs",
    "dvs128gesture",
    "nmnist",
    "folder",  # a user's folder of recordings, one sub-folder per class
    "digits",  # embedded static images (sklearn digits)
    "cifar10",
    "cifar100",
    "imagenet",
]


@dataclass(frozen=True)
class DataConfig:
    """Where the data lives and how it is split."""

    dataset: DatasetName = "digits_dvs"
    root: str = "datasets/digits_dvs"  # raw recordings / images
    cache_dir: str = "datasets_cache"  # framed tensors (h5py), see datasets_cache/README.md
    sensor_size: tuple[int, ...] | None = None  # (W, H, P); None: the data set's own
    split: Literal["per_class", "random"] = "per_class"
    train_fraction: float = 0.9  # the reference's 9:1 split
    split_seed: int = 0
    num_workers: int = 0  # DataLoader workers
    preprocess_workers: int = 0  # 0: all cores
    on_error: Literal["raise", "skip"] = "raise"
    img_size: int | None = None  # images: resize to this size; None: native
    limit_per_class: int | None = None  # keep the first N recordings of each class


@dataclass(frozen=True)
class FramingConfig:
    """Events -> frames `[T, P, H, W]` (see `eventsnn.events.to_frames`)."""

    n_frames: int | None = 10
    split_by: Literal["count", "time"] = "count"
    time_window: float | None = None  # microseconds, tonic ToFrame semantics
    event_count: int | None = None  # tonic ToFrame semantics
    backend: Literal["auto", "numba", "torch", "numpy"] = "auto"
    polarity_sum_channel: bool = False  # append P0 + P1 as a third channel
    resize: tuple[int, int] | None = None  # (H, W) after framing
    dtype: Literal["uint8", "uint16", "int32", "float16", "float32"] = "float32"


@dataclass(frozen=True)
class ModelConfig:
    """A registered variant plus optional architecture overrides (None: variant default)."""

    name: str = "spikingresformer_cifar"
    T: int | None = None
    num_classes: int | None = None
    in_channels: int | None = None
    img_size: int | None = None
    layers: tuple[tuple[str, ...], ...] | None = None
    planes: tuple[int, ...] | None = None
    num_heads: tuple[int, ...] | None = None
    patch_sizes: tuple[int, ...] | None = None
    prologue: str | None = None
    group_size: int | None = None
    activation: Literal["lif", "plif"] | None = None
    pretrained: str | None = None  # path to a local checkpoint; never downloaded


@dataclass(frozen=True)
class PlasticityConfig:
    """DA-SSDP (spec/da_ssdp.md). `mode: off` is the baseline."""

    mode: Literal["off", "ssdp", "da_ssdp"] = "off"
    layers: tuple[str, ...] | None = None  # module names; None: classifier + last Wproj
    a_plus: float = 1.5e-3
    a_minus: float = 5e-4
    sigma: float = 1.0
    warmup: int = 100
    warmup_unit: Literal["epochs", "steps"] = "epochs"
    gate_min: float = 0.0
    gate_max: float = 2.0
    dw_clip: float = 1.0
    loss_granularity: Literal["batch", "per_sample"] = "batch"


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (timm create_optimizer_v2 / create_scheduler_v2)."""

    optimizer: str = "adamw"
    lr: float = 5e-4
    weight_decay: float = 0.01
    momentum: float = 0.9
    scheduler: str = "cosine"
    warmup_epochs: int = 0
    warmup_lr: float = 1e-6
    min_lr: float = 1e-5
    cooldown_epochs: int = 0
    grad_clip: float | None = None


@dataclass(frozen=True)
class TrainConfig:
    """The training loop."""

    epochs: int = 1
    batch_size: int = 32
    eval_batch_size: int | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # used on CUDA only
    label_smoothing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    mixup_prob: float = 1.0
    randaugment: str | None = None  # timm string, e.g. rand-m7-n1-mstd0.5-inc1
    dvs_augment: bool = False  # the reference's flip + roll/rotate/cutout
    max_steps_per_epoch: int | None = None
    log_every: int = 10
    eval_every: int = 1  # epochs
    checkpoint_every: int = 1  # epochs between checkpoint_latest writes
    precise_bn_batches: int = 0  # >0: re-estimate BN statistics on this many train batches before each eval


@dataclass(frozen=True)
class DistributedConfig:
    """torchrun / DDP settings."""

    backend: Literal["auto", "nccl", "gloo"] = "auto"
    sync_bn: bool = False


@dataclass(frozen=True)
class PerturbationSweep:
    """One perturbation and the severities to sweep."""

    name: str
    severities: tuple[float, ...] = (0.0,)
    level: Literal["event", "spike"] = "event"


@dataclass(frozen=True)
class RobustnessConfig:
    """Severity sweeps under event- and spike-level perturbations."""

    sweeps: tuple[PerturbationSweep, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2)
    batch_size: int = 64
    max_samples: int | None = None  # None: the whole test split


@dataclass(frozen=True)
class OutputConfig:
    """Where runs are written."""

    root: str = "runs"
    name: str | None = None  # run directory name; None: derived from the config file
    tensorboard: bool = True


@dataclass(frozen=True)
class RunConfig:
    """Everything one job needs; one field per section."""

    data: DataConfig = field(default_factory=DataConfig)
    framing: FramingConfig = field(default_factory=FramingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    plasticity: PlasticityConfig = field(default_factory=PlasticityConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
