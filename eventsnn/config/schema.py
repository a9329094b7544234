"""Typed, frozen configuration sections for every eventsnn job.

Each section is a frozen dataclass (hashable, printable, immutable); sequences are tuples
so that a section can be hashed into a cache key. `RunConfig` groups the sections. The
YAML loader in `eventsnn.config.loader` builds these from files and rejects unknown keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Literal


@dataclass(frozen=True)
class Range:
    """The valid interval of a numeric field, checked by the loader: `low <= v <= high`
    (strict where `low_open` / `high_open`); a bound of None is unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def __str__(self) -> str:
        lo = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        if lo and hi:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{self.low:g}, {self.high:g}{right}"
        return lo or hi or "finite"


@dataclass(frozen=True)
class Length:
    """The allowed lengths of a list field, checked by the loader."""

    allowed: tuple[int, ...]

    def __str__(self) -> str:
        return " or ".join(str(n) for n in self.allowed) + " values"


# numeric field kinds (the loader checks the Range; every float must also be finite)
PosInt = Annotated[int, Range(low=1)]
NonNegInt = Annotated[int, Range(low=0)]
PosFloat = Annotated[float, Range(low=0, low_open=True)]
NonNegFloat = Annotated[float, Range(low=0)]
Fraction = Annotated[float, Range(0, 1, low_open=True, high_open=True)]
Probability = Annotated[float, Range(0, 1)]

# event data sets: the names of the registry eventsnn.data.sets (each module holds its facts; this
# list only lets the loader check names without importing torch; tests/data/test_sets.py pins it)
DatasetName = Literal[
    "digits_dvs",  # embedded demo: sklearn digits through the DVS emulator (.aedat4)
    "cifar10dvs",
    "dvs128gesture",
    "nmnist",
    "ncaltech101",
    "asl_dvs",
    "n_imagenet",
    "dvs_lip",
    "folder",  # a user's folder of recordings, one sub-folder per class
    "tonic",  # a tonic data set already on disk (data.tonic_class)
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
    # (W, H[, P]); None: the data set's own
    sensor_size: Annotated[tuple[PosInt, ...], Length((2, 3))] | None = None
    split: Literal["per_class", "random"] = "per_class"
    train_fraction: Fraction = 0.9  # the reference's 9:1 split
    split_seed: NonNegInt = 0
    num_workers: NonNegInt = 0  # DataLoader workers
    cache: Literal["h5", "none"] = "h5"  # none: the loader's workers read and frame on the fly
    # where cached counts become model input (derive, augment): per batch on the GPU ("auto" on
    # CUDA) or per item in the DataLoader workers
    derive_on: Literal["auto", "workers", "device"] = "auto"
    preprocess_workers: NonNegInt = 0  # 0: all cores
    on_error: Literal["raise", "skip"] = "raise"
    img_size: PosInt | None = None  # images: resize to this size; None: native
    limit_per_class: PosInt | None = None  # keep the first N recordings of each class
    orientation: str | None = None  # None: the data set's default map (eventsnn data list shows them)
    tonic_class: str | None = None  # data.dataset=tonic: tonic.datasets.<name>, root = its save_to


@dataclass(frozen=True)
class FramingConfig:
    """Events -> frames `[T, P, H, W]` (see `eventsnn.events.to_frames`)."""

    n_frames: PosInt | None = 10
    split_by: Literal["count", "time"] = "count"
    time_window: PosFloat | None = None  # microseconds, tonic ToFrame semantics
    event_count: PosInt | None = None  # tonic ToFrame semantics
    backend: Literal["auto", "numba", "torch", "numpy"] = "auto"
    polarity_sum_channel: bool = False  # append P0 + P1 as a third channel
    resize: tuple[PosInt, PosInt] | None = None  # (H, W) after framing
    dtype: Literal["uint8", "uint16", "int32", "float16", "float32"] = "float32"
    # after loading, per sample (eventsnn.events.normalize): raw counts, / the sample's max, log(1 + x)
    normalize: Literal["none", "per_sample", "log1p"] = "none"


@dataclass(frozen=True)
class ModelConfig:
    """A registered variant plus optional architecture overrides (None: variant default)."""

    name: str = "spikingresformer_cifar"
    T: PosInt | None = None
    num_classes: PosInt | None = None
    in_channels: PosInt | None = None
    img_size: PosInt | None = None
    layers: tuple[tuple[str, ...], ...] | None = None
    planes: tuple[PosInt, ...] | None = None
    num_heads: tuple[PosInt, ...] | None = None
    patch_sizes: tuple[PosInt, ...] | None = None
    prologue: str | None = None
    group_size: PosInt | None = None
    activation: Literal["lif", "plif"] | None = None
    pretrained: str | None = None  # path to a local checkpoint; never downloaded
    # fine-tuning from a checkpoint: keep its classifier when the shapes match (same classes), or
    # re-initialise it always, as the released SpikingResformer.transfer does
    transfer_classifier: Literal["keep_same_shape", "reinit"] = "keep_same_shape"


@dataclass(frozen=True)
class DASSDPParams:
    """The DA-SSDP hyper-parameters (docs/dassdp.md), the one place their defaults are written.

    Passed whole to `eventsnn.plasticity.DASSDPRule` (like norse's typed parameter tuples);
    `PlasticityConfig` extends it with the run-level keys. Defaults are the released code's,
    except `reference` / `spatial` (docs/dassdp.md compares the variants).
    """

    a_plus: NonNegFloat = 1.5e-3
    a_minus: NonNegFloat = 5e-4
    sigma: PosFloat = 1.0
    warmup: NonNegInt = 100
    warmup_unit: Literal["epochs", "steps"] = "epochs"
    gate_min: float = 0.0
    gate_max: float = 2.0
    dw_clip: PosFloat = 1.0
    loss_granularity: Literal["batch", "per_sample"] = "batch"
    reference: Literal["paper", "released"] = "paper"  # activity as the paper words it / as the code does
    spatial: Literal["any", "positions"] = "any"  # reduce positions with any / each position a pair


@dataclass(frozen=True)
class PlasticityConfig(DASSDPParams):
    """DA-SSDP (docs/dassdp.md): the rule's parameters plus which layers. `mode: off` is the baseline."""

    mode: Literal["off", "ssdp", "da_ssdp"] = "off"
    layers: tuple[str, ...] | None = None  # module names; None: the model's default layers
    # a warm-up covering the whole run never changes a weight: train / finetune / compare refuse
    # it (eventsnn.plasticity.warmup) unless this is true
    allow_full_warmup: bool = False


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (timm create_optimizer_v2 / create_scheduler_v2)."""

    optimizer: str = "adamw"
    lr: PosFloat = 5e-4
    weight_decay: NonNegFloat = 0.01
    momentum: Probability = 0.9
    scheduler: str = "cosine"
    warmup_epochs: NonNegInt = 0
    warmup_lr: NonNegFloat = 1e-6
    min_lr: NonNegFloat = 1e-5
    cooldown_epochs: NonNegInt = 0
    grad_clip: PosFloat | None = None


@dataclass(frozen=True)
class TrainConfig:
    """The training loop."""

    epochs: PosInt = 1
    batch_size: PosInt = 32
    eval_batch_size: PosInt | None = None
    seed: NonNegInt = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # fp32 | bf16 | fp16 | auto: autocast (+ GradScaler for fp16); auto: fp16 + GradScaler on CUDA (as the
    # released training), fp32 on CPU, until parity measurements support bf16 (engine/precision.py)
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "auto"
    # torch.compile(dynamic=False) for training: false | true (on failure: one line, eager) | require
    compile: bool | Literal["require"] = False
    label_smoothing: Annotated[float, Range(0, 1, high_open=True)] = 0.0
    mixup: NonNegFloat = 0.0
    cutmix: NonNegFloat = 0.0
    mixup_prob: Probability = 1.0
    randaugment: str | None = None  # timm string, e.g. rand-m7-n1-mstd0.5-inc1
    dvs_augment: bool = False  # the reference's flip + roll/rotate/cutout
    max_steps_per_epoch: PosInt | None = None
    log_every: PosInt = 10
    eval_every: PosInt = 1  # epochs
    checkpoint_every: PosInt = 1  # epochs between checkpoint_latest writes
    precise_bn_batches: NonNegInt = 0  # >0: re-estimate BN stats on this many train batches before eval


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
    seeds: tuple[NonNegInt, ...] = (0, 1, 2)
    batch_size: PosInt = 64
    max_samples: PosInt | None = None  # None: the whole test split


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
