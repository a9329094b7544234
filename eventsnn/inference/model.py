"""A trained model ready for inference, built from its checkpoint alone.

An eventsnn training checkpoint holds the resolved config (framing, resize, model) and a
description of its data (kind, class names, input shape `[T, C, H, W]` or `[C, H, W]`, sensor
size (W, H, P), and since 0.2 the training recordings' durations and event rates, which set
`stream`'s default window). `load_inference_model` reads it as an `eventsnn.Checkpoint` and builds the
model with `Checkpoint.model`; `-c FILE` / `--set` may change everything except the model
section. A checkpoint without a config (an original SpikingResformer file) needs `-c`.
Inference depends on models and data, never on the training engine.

Prediction: probabilities p = softmax(mean_t z_t) of the time-averaged logits `[B, K]`, as in
evaluation (`eventsnn.models.mean_logits`), under the autocast of `--precision` (default: the
checkpoint's `train.precision`), resolved as training resolves it (`eventsnn.devices`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from eventsnn.checkpoint import Checkpoint, DataDescription
from eventsnn.config import RunConfig, load_config
from eventsnn.data.cache import frame_shape
from eventsnn.data.images import build_image_datasets
from eventsnn.data.recordings import list_all_recordings, sensor_size_for
from eventsnn.data.sets import REGISTRY
from eventsnn.devices import autocast, resolve_device, resolve_precision
from eventsnn.errors import CheckpointError, ConfigError, DataError
from eventsnn.events.recording_stats import RecordingStats
from eventsnn.models.readout import mean_logits


@dataclass
class InferenceModel:
    """A model in eval mode plus what is needed to turn inputs into its input tensors."""

    model: nn.Module
    cfg: RunConfig
    kind: str  # "events" or "images"
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]  # events: [T, C, H, W]; images: [C, H, W]
    sensor_size: tuple[int, int, int] | None  # events: (W, H, P) the model was trained on
    device: torch.device
    precision: str = "fp32"  # concrete: fp32, bf16 or fp16 (`eventsnn.devices.resolve_precision`)
    checkpoint: str = ""
    recordings: RecordingStats | None = None  # the training recordings' durations / event rates

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs `[B, T, C, H, W]` (events) or `[B, C, H, W]` (images) -> mean logits `[B, K]` float32."""
        x = x.to(self.device, non_blocking=True)
        with autocast(self.device, self.precision):
            out = self.model(x)  # [T, B, K]
        return mean_logits(out).float()

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """softmax of `logits(x)`: `[B, K]`, rows sum to 1."""
        return torch.softmax(self.logits(x), dim=-1)


def inference_config(ckpt: Checkpoint, config: str | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """The checkpoint's stored config, with `-c FILE` / `--set` applied to its non-model parts.

    Raises:
        ConfigError: an override of the model section.
        CheckpointError: no stored config and no `-c` (an original SpikingResformer file).
    """
    for item in overrides:
        if item.strip().startswith("model."):
            raise ConfigError(
                f"--set {item}: the model comes from the checkpoint; only non-model parts change"
            )
    if config is None:
        try:
            return ckpt.config(overrides)
        except CheckpointError:
            raise CheckpointError(
                f"{ckpt.where}: this checkpoint holds no config (an original SpikingResformer file?): "
                "pass the training config with -c FILE"
            ) from None
    cfg = load_config(config, overrides)
    if ckpt.config_dict is not None:  # the architecture always comes from the checkpoint
        cfg = replace(cfg, model=ckpt.config().model)
    return cfg


def describe_data(cfg: RunConfig, ckpt: Checkpoint) -> DataDescription:
    """Kind, class names, input shape and sensor size: stored in the checkpoint, else from the data."""
    info = ckpt.data
    events = cfg.data.dataset in REGISTRY
    if info is not None and (info.kind == "events") == events:
        out = info
    elif events:
        try:
            _, names = list_all_recordings(cfg)
            sensor = sensor_size_for(cfg)
        except DataError as exc:
            raise DataError(
                f"{ckpt.where}: the checkpoint does not list its classes and sensor, and the data set "
                f"is not at hand to find them ({exc})"
            ) from None
        out = DataDescription("events", tuple(names), tuple(frame_shape(cfg.framing, sensor)), tuple(sensor))
    else:
        _, _, image_info = build_image_datasets(cfg)
        out = DataDescription("images", tuple(image_info.class_names), tuple(image_info.input_shape))
    if out.kind == "events":  # a framing override changes the frames' shape
        shape = frame_shape(cfg.framing, out.sensor_size)
        if shape[1:] != out.input_shape[1:]:
            raise ConfigError(
                f"{ckpt.where}: the framing gives frames [T, C, H, W]={list(shape)}, the model was trained "
                f"on {list(out.input_shape)} (channels and size must match)"
            )
        out = replace(out, input_shape=tuple(shape))
    return out


def load_inference_model(
    checkpoint: str | os.PathLike[str],
    *,
    config: str | None = None,
    overrides: Sequence[str] = (),
    device: str = "auto",
    precision: str | None = None,
) -> InferenceModel:
    """Everything `predict` and `stream` need from a checkpoint (see the module docstring)."""
    ckpt = Checkpoint.load(checkpoint)
    cfg = inference_config(ckpt, config, overrides)
    info = describe_data(cfg, ckpt)
    dev = resolve_device(device)
    model = ckpt.model(dev, model_cfg=cfg.model, data=info)
    concrete = resolve_precision(precision or cfg.train.precision, dev)
    return InferenceModel(
        model,
        cfg,
        info.kind,
        info.class_names,
        info.input_shape,
        info.sensor_size,
        dev,
        concrete,
        ckpt.where,
        info.recordings,
    )
