"""One road from a checkpoint file to a model: `Checkpoint.load(path).model(device=...)`.

A checkpoint file is a plain dict read with `torch.load(weights_only=True)` (never any other
way). This module is the only one that knows its keys; every job (train --resume, finetune,
evaluate, robustness, analyze, predict, stream, compare, demo) goes through `Checkpoint`.

    format                    "eventsnn-train-v1" (a training checkpoint) or absent
    model                     the model's state_dict (SpikingResformer's own key layout, so the
                              original tools read it; an original file may be a bare state_dict)
    model_name                the registry name (`eventsnn.models.create_model`)
    config                    the resolved run config (`eventsnn.config.to_dict`)
    data                      DataDescription: kind, class_names, input_shape, sensor_size,
                              statistics, recordings (the training recordings' durations and
                              event rates, `RecordingStats`; absent in older checkpoints)
    optimizer, scheduler,     TrainingState: what resuming needs (a training checkpoint only)
    scaler, plasticity, rng,
    epoch, step_in_epoch,
    global_step, best_top1,
    history, epoch_loss_sum,
    scaler_skips

Reading runs in three steps: `read_file` (torch.load, one-line errors) -> `normalize_keys`
(every registered `@key_map`, in order: older and foreign layouts become today's) -> the
typed fields. A new layout is one `@key_map` function: released DA-SSDP files (their rules'
`ssdp.*` / `ssdp_dssa.*` scalars among the weights) are one such step. Checkpoints of eventsnn
0.1 (no `data`, `epoch_loss_sum`, `scaler_skips`; `train.amp` in the stored config) load: the
first two are filled in here, the config key by the config loader.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from eventsnn.config import ModelConfig, RunConfig, to_dict
from eventsnn.config.loader import config_from_mapping
from eventsnn.devices import resolve_device
from eventsnn.errors import CheckpointError
from eventsnn.events.recording_stats import RecordingStats
from eventsnn.models.registry import build_model
from eventsnn.models.released_keys import split_released_rule
from eventsnn.models.weights import load_weights

__all__ = [
    "FORMAT",
    "Checkpoint",
    "DataDescription",
    "TrainingState",
    "key_map",
    "normalize_keys",
    "read_file",
]

FORMAT = "eventsnn-train-v1"

KeyMap = Callable[[dict[str, Any]], dict[str, Any]]
KEY_MAPS: list[KeyMap] = []


def key_map(fn: KeyMap) -> KeyMap:
    """Register `fn(raw) -> raw` as a step of `normalize_keys` (in definition order).

    A key map turns one older or foreign layout into today's and returns anything else
    unchanged; it never touches the file.
    """
    KEY_MAPS.append(fn)
    return fn


@key_map
def _bare_state_dict(raw: dict[str, Any]) -> dict[str, Any]:
    """An original SpikingResformer file may be a bare state_dict: it becomes `{'model': ...}`."""
    if "model" not in raw and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return {"model": raw}
    return raw


@key_map
def _ddp_prefix(raw: dict[str, Any]) -> dict[str, Any]:
    """Weights saved from a DistributedDataParallel wrapper lose their `module.` prefix."""
    sd = raw.get("model")
    if isinstance(sd, Mapping) and any(str(k).startswith("module.") for k in sd):
        return {**raw, "model": {str(k).removeprefix("module."): v for k, v in sd.items()}}
    return raw


@key_map
def _released_da_ssdp(raw: dict[str, Any]) -> dict[str, Any]:
    """A released DA-SSDP file (NeuroSyd/DA-SSDP) holds its rules' scalar settings (`ssdp.A_plus`,
    `ssdp_dssa.sigma`, ...) among the weights: they are split off into `released_rule`
    (`eventsnn.models.released_keys`), the weights keep eventsnn's names."""
    sd = raw.get("model")
    if not isinstance(sd, Mapping):
        return raw
    weights, rules = split_released_rule(sd)
    if not rules:
        return raw
    return {**raw, "model": weights, "released_rule": rules}


@key_map
def _eventsnn_0_1(raw: dict[str, Any]) -> dict[str, Any]:
    """eventsnn 0.1 training checkpoints lack `epoch_loss_sum` and `scaler_skips`."""
    if raw.get("format") == FORMAT and not {"epoch_loss_sum", "scaler_skips"} <= set(raw):
        return {"epoch_loss_sum": 0.0, "scaler_skips": 0, **raw}
    return raw


def normalize_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` in today's layout: every registered `@key_map` applied in order."""
    out = dict(raw)
    for fn in KEY_MAPS:
        out = fn(out)
    return out


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """THE checkpoint file reader: `torch.load(weights_only=True)` on the CPU, the dict unchanged.

    Raises:
        CheckpointError (a `DataError`): the file is missing, a folder, not a dict, or not a
            trusted eventsnn/SpikingResformer checkpoint (unreadable, or holding pickled objects
            that `weights_only` refuses; the file is never loaded any other way).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file (e.g. {path}/checkpoint_best.pt)")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    foreign = _not_a_torch_file(path)
    if foreign:
        raise CheckpointError(f"{path}: not a checkpoint: {foreign}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt / foreign / pickled files
        raise CheckpointError(
            f"{path}: not a trusted eventsnn/SpikingResformer checkpoint ({_reason(exc)})"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{path}: not a trusted eventsnn/SpikingResformer checkpoint (a {type(obj).__name__}, not a dict)"
        )
    return obj


_MAGIC = {
    b"\x89HDF": "an HDF5 file",
    b"#!AER-DAT": "an AEDAT event recording",
    b"\x93NUMPY": "a NumPy array file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip file",
}


def _not_a_torch_file(path: Path) -> str | None:
    """What the file is when it cannot be a torch checkpoint (a zip archive or a pickle), from
    its first bytes; None when it may be one."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch zip / legacy pickle
        return None
    if not head:
        return "the file is empty"
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it starts with the bytes {head[:8].hex()}, neither a zip archive nor a pickle"
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    return f"a text file (it starts with {first!r})"


def _reason(exc: BaseException) -> str:
    """Why `torch.load(weights_only=True)` refused a file, in a few words (never torch's advice
    to load it with `weights_only=False`)."""
    found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
    if found:
        return f"it holds a pickled {found.group(1)}, which is never loaded"
    detail = exc.__context__ if isinstance(exc, pickle.UnpicklingError) and exc.__context__ else exc
    text = str(detail).strip()
    if "weights_only" in text or not text:
        text = type(detail).__name__
    return f"unreadable: {text.splitlines()[0][:200]}"


@dataclass(frozen=True)
class DataDescription:
    """What a model needs to know about its data (stored as `'data'`).

    `input_shape` is `[T, C, H, W]` for event frames, `[C, H, W]` for images; `sensor_size`
    is (W, H, P) of the recordings (events only); `statistics` holds training statistics of
    the data when a run records them (e.g. normalisation mean / std), else None; `recordings`
    the training recordings' duration and event-rate statistics (events read from files; None
    for images, a user's data sets and checkpoints written before they were stored).
    """

    kind: Literal["events", "images"]
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    sensor_size: tuple[int, int, int] | None = None
    statistics: Mapping[str, Any] | None = None
    recordings: RecordingStats | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "sensor_size": list(self.sensor_size) if self.sensor_size is not None else None,
        }
        if self.statistics is not None:
            out["statistics"] = dict(self.statistics)
        if self.recordings is not None:
            out["recordings"] = self.recordings.to_dict()
        return out

    @classmethod
    def from_dict(cls, raw: Any, *, where: str = "checkpoint") -> DataDescription:
        """Parse a stored description, checked: `CheckpointError` naming the first bad entry."""

        def bad(what: str) -> CheckpointError:
            return CheckpointError(f"{where}: its data description is damaged ({what}); was it edited?")

        if not isinstance(raw, Mapping):
            raise bad(f"a {type(raw).__name__}, not a mapping")
        if raw.get("kind") not in ("events", "images"):
            raise bad(f"kind {raw.get('kind')!r}, expected 'events' or 'images'")
        names, shape, sensor = raw.get("class_names"), raw.get("input_shape"), raw.get("sensor_size")
        if not isinstance(names, (list, tuple)) or not names:
            raise bad("class_names is missing or empty")
        if not isinstance(shape, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in shape):
            raise bad(f"input_shape {shape!r}")
        if raw["kind"] == "events" and (
            not isinstance(sensor, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in sensor)
        ):
            raise bad(f"sensor_size {sensor!r}")
        try:
            recordings = RecordingStats.from_dict(raw["recordings"]) if raw.get("recordings") else None
        except ValueError as exc:
            raise bad(str(exc)) from None
        return cls(
            kind=raw["kind"],
            class_names=tuple(str(n) for n in raw["class_names"]),
            input_shape=tuple(int(v) for v in raw["input_shape"]),
            sensor_size=tuple(int(v) for v in sensor) if sensor else None,  # type: ignore[arg-type]
            statistics=raw.get("statistics"),
            recordings=recordings,
        )


@dataclass
class TrainingState:
    """Everything besides the weights that resuming a run exactly needs."""

    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    scaler: dict[str, Any] | None
    plasticity: dict[str, Any]
    rng: dict[str, Any]
    epoch: int
    step_in_epoch: int
    global_step: int
    best_top1: float
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch_loss_sum: float = 0.0
    scaler_skips: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _TRAINING_KEYS}


_TRAINING_KEYS = tuple(TrainingState.__dataclass_fields__)


@dataclass
class Checkpoint:
    """A checkpoint as typed parts; `where` names its file in every message."""

    weights: dict[str, torch.Tensor]
    model_name: str | None = None
    config_dict: Mapping[str, Any] | None = None  # the stored resolved config, as stored
    data: DataDescription | None = None
    training: TrainingState | None = None
    where: str = "checkpoint"
    released_rule: Mapping[str, Mapping[str, float]] | None = None  # a released DA-SSDP file's settings

    # ------------------------------------------------------------------ reading / writing
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read `path` (see `read_file`) and parse it; `where` is the path."""
        return cls.from_dict(read_file(path), where=str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, where: str = "checkpoint") -> Checkpoint:
        """Parse an already loaded checkpoint dict (after `normalize_keys`).

        Raises:
            CheckpointError: no model state_dict of tensors in it.
        """
        raw = normalize_keys(raw)
        weights = raw.get("model")
        if not isinstance(weights, Mapping) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise CheckpointError(f"{where}: no model state_dict found (expected a 'model' entry of tensors)")
        training = None
        if raw.get("format") == FORMAT:
            missing = [k for k in _TRAINING_KEYS if k not in raw]
            if missing:
                raise CheckpointError(f"{where}: a training checkpoint without {', '.join(missing)}")
            training = TrainingState(**{k: raw[k] for k in _TRAINING_KEYS})
        stored = raw.get("config")
        data = raw.get("data")
        return cls(
            weights=dict(weights),
            model_name=raw.get("model_name"),
            released_rule=raw.get("released_rule"),
            config_dict=stored if isinstance(stored, Mapping) else None,
            data=DataDescription.from_dict(data, where=where) if data is not None else None,
            training=training,
            where=where,
        )

    @classmethod
    def of_run(
        cls, model: nn.Module, cfg: RunConfig, data: DataDescription, training: TrainingState | None = None
    ) -> Checkpoint:
        """The checkpoint of a run: `model`'s weights, its config and data, and its training state."""
        return cls(
            model.state_dict(),
            model_name=cfg.model.name,
            config_dict=to_dict(cfg),
            data=data,
            training=training,
        )

    def to_dict(self) -> dict[str, Any]:
        """The dict written to disk (`torch.save`), readable by `Checkpoint.load`."""
        out: dict[str, Any] = {"model": self.weights, "model_name": self.model_name}
        if self.config_dict is not None:
            out["config"] = dict(self.config_dict)
        if self.data is not None:
            out["data"] = self.data.to_dict()
        if self.training is not None:
            out = {"format": FORMAT, **out, **self.training.to_dict()}
        return out

    # ------------------------------------------------------------------ what it holds
    def config(self, overrides: Sequence[str] = ()) -> RunConfig:
        """The stored resolved config with `--set section.key=value` `overrides` applied.

        Raises:
            CheckpointError: no stored config (an original SpikingResformer file: give a config).
            ConfigError: the stored config (or an override) does not fit this version's schema.
        """
        if self.config_dict is None:
            raise CheckpointError(
                f"{self.where}: holds no run config (an original SpikingResformer file?); "
                "give the training config with -c FILE"
            )
        return config_from_mapping(self.config_dict, overrides, source=f"{self.where} (stored config)")

    def check_model(self, model_name: str) -> None:
        """THE "is this checkpoint for this model" check (before any weights are loaded).

        A checkpoint that records its model must record `model_name`; an original
        SpikingResformer file records none and passes (the strict key check still applies).

        Raises:
            CheckpointError: "<where>: checkpoint of model 'X', the config asks for 'Y'".
        """
        if self.model_name is not None and self.model_name != model_name:
            raise CheckpointError(
                f"{self.where}: checkpoint of model {self.model_name!r}, the config asks for {model_name!r}"
            )

    def require_training(self) -> TrainingState:
        """The training state; resuming needs a full eventsnn training checkpoint.

        Raises:
            CheckpointError: "<where>: not an eventsnn training checkpoint ... cannot resume from it".
        """
        if self.training is None:
            raise CheckpointError(
                f"{self.where}: not an eventsnn training checkpoint (expected format {FORMAT!r}): "
                "it can initialise a run (finetune) but cannot resume one"
            )
        return self.training

    # ------------------------------------------------------------------ to a model
    def load_weights(self, model: nn.Module, *, transfer: bool = False) -> list[str]:
        """Load the weights into `model` strictly (see `eventsnn.models.load_weights`)."""
        return load_weights(model, self.weights, transfer=transfer, where=self.where)

    def model(
        self,
        device: str | torch.device = "cpu",
        *,
        model_cfg: ModelConfig | None = None,
        data: DataDescription | None = None,
    ) -> nn.Module:
        """The model with these weights (strict), in eval mode on `device` (`auto` allowed).

        `model_cfg` defaults to the stored config's model section and `data` to the stored data
        description; an original SpikingResformer file needs both given.

        Raises:
            CheckpointError: another model's checkpoint, weights that do not fit, or nothing to
                build the model from.
        """
        model_cfg = model_cfg or self.config().model
        data = data or self.data
        if data is None:
            raise CheckpointError(
                f"{self.where}: the checkpoint does not describe its data (classes, input shape); "
                "give the data set's config"
            )
        self.check_model(model_cfg.name)
        net = build_model(model_cfg, data.num_classes, data.input_shape)
        self.load_weights(net)
        return net.to(resolve_device(device)).eval()

    def with_config(self, cfg: RunConfig) -> Checkpoint:
        """A copy whose stored config is `cfg`."""
        return replace(self, config_dict=to_dict(cfg))
