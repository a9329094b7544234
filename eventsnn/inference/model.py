"""A trained model ready for inference, built from its checkpoint alone.

An eventsnn training checkpoint holds the resolved config (framing, resize, model) and a
description of its data (`'data'`: kind, class names, input shape `[T, C, H, W]` or
`[C, H, W]`, sensor size (W, H, P)). `load_inference_model` rebuilds the model from them and
loads the weights strictly; `-c FILE` / `--set` may change everything except the model section.
A checkpoint without a config (an original SpikingResformer file) needs `-c`.

Prediction: probabilities p = softmax(mean_t z_t) of the time-averaged logits `[B, K]`, as in
evaluation (`eventsnn.models.mean_logits`), under the autocast of `--precision` (default: the
checkpoint's `train.precision`), resolved as training resolves it (`eventsnn.engine.precision`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eventsnn.config import RunConfig
from eventsnn.errors import CheckpointError, ConfigError, DataError


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
    precision: str = "fp32"  # concrete: fp32, bf16 or fp16 (`engine.precision.resolve_precision`)
    checkpoint: str = ""

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs `[B, T, C, H, W]` (events) or `[B, C, H, W]` (images) -> mean logits `[B, K]` float32."""
        from eventsnn.engine.precision import autocast
        from eventsnn.models import mean_logits

        x = x.to(self.device, non_blocking=True)
        with autocast(self.device, self.precision):
            out = self.model(x)  # [T, B, K]
        return mean_logits(out).float()

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """softmax of `logits(x)`: `[B, K]`, rows sum to 1."""
        return torch.softmax(self.logits(x), dim=-1)


def inference_config(
    ckpt: dict[str, Any], where: str, config: str | None = None, overrides: Sequence[str] = ()
) -> RunConfig:
    """The checkpoint's stored config, with `-c FILE` / `--set` applied to its non-model parts.

    Raises:
        ConfigError: an override of the model section.
        CheckpointError: no stored config and no `-c` (an original SpikingResformer file).
    """
    from eventsnn.config import load_config
    from eventsnn.models.checkpoint import config_from_checkpoint

    for item in overrides:
        if item.strip().startswith("model."):
            raise ConfigError(
                f"--set {item}: the model comes from the checkpoint; only non-model parts change"
            )
    if config is None:
        try:
            return config_from_checkpoint(ckpt, overrides)
        except CheckpointError:
            raise CheckpointError(
                f"{where}: this checkpoint holds no config (an original SpikingResformer file?): "
                "pass the training config with -c FILE"
            ) from None
    cfg = load_config(config, overrides)
    if ckpt.get("config") is not None:  # the architecture always comes from the checkpoint
        cfg = replace(cfg, model=config_from_checkpoint(ckpt).model)
    return cfg


def _checked_data_info(info: Any, where: str) -> dict[str, Any] | None:
    """The checkpoint's `'data'` description, checked: kind, class names, input shape and (events)
    sensor size of the right types; `CheckpointError` naming the first bad entry."""
    if info is None:
        return None

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{where}: its data description is damaged ({what}); was it edited?")

    if not isinstance(info, dict):
        raise bad(f"a {type(info).__name__}, not a mapping")
    if info.get("kind") not in ("events", "images"):
        raise bad(f"kind {info.get('kind')!r}, expected 'events' or 'images'")
    names, shape = info.get("class_names"), info.get("input_shape")
    if not isinstance(names, (list, tuple)) or not names:
        raise bad("class_names is missing or empty")
    if not isinstance(shape, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in shape):
        raise bad(f"input_shape {shape!r}")
    sensor = info.get("sensor_size")
    if info["kind"] == "events" and (
        not isinstance(sensor, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in sensor)
    ):
        raise bad(f"sensor_size {sensor!r}")
    return info


def describe_data(cfg: RunConfig, ckpt: dict[str, Any], where: str) -> dict[str, Any]:
    """Kind, class names, input shape and sensor size: stored in the checkpoint, else from the data."""
    from eventsnn.data.sets import REGISTRY

    info = _checked_data_info(ckpt.get("data"), where)
    events = cfg.data.dataset in REGISTRY
    if info is not None and (info["kind"] == "events") == events:
        out = dict(info)
    elif events:
        from eventsnn.data.cache import frame_shape
        from eventsnn.data.recordings import list_all_recordings, sensor_size_for

        try:
            _, names = list_all_recordings(cfg)
            sensor = sensor_size_for(cfg)
        except DataError as exc:
            raise DataError(
                f"{where}: the checkpoint does not list its classes and sensor, and the data set "
                f"is not at hand to find them ({exc})"
            ) from None
        out = {
            "kind": "events",
            "class_names": list(names),
            "sensor_size": list(sensor),
            "input_shape": list(frame_shape(cfg.framing, sensor)),
        }
    else:
        from eventsnn.data.images import build_image_datasets

        _, _, image_info = build_image_datasets(cfg)
        out = {
            "kind": "images",
            "class_names": list(image_info.class_names),
            "input_shape": list(image_info.input_shape),
            "sensor_size": None,
        }
    if out["kind"] == "events":  # a framing override changes the frames' shape
        from eventsnn.data.cache import frame_shape

        stored_shape = tuple(out["input_shape"])
        shape = frame_shape(cfg.framing, tuple(out["sensor_size"]))
        if shape[1:] != stored_shape[1:]:
            raise ConfigError(
                f"{where}: the framing gives frames [T, C, H, W]={list(shape)}, the model was trained "
                f"on {list(stored_shape)} (channels and size must match)"
            )
        out["input_shape"] = list(shape)
    return out


def build_inference_model(
    ckpt: dict[str, Any],
    cfg: RunConfig,
    info: dict[str, Any],
    where: str,
    *,
    device: str = "auto",
    precision: str | None = None,
) -> InferenceModel:
    """The configured model with the checkpoint's weights (strict), in eval mode on `device`."""
    from eventsnn.engine.builders import DataBundle, build_model
    from eventsnn.engine.distributed import resolve_device
    from eventsnn.models.checkpoint import check_checkpoint_model, load_checkpoint

    check_checkpoint_model(ckpt, cfg.model.name, where=where)
    names = tuple(str(n) for n in info["class_names"])
    shape = tuple(int(v) for v in info["input_shape"])
    bundle = DataBundle(None, None, len(names), names, shape, info["kind"])  # type: ignore[arg-type]
    model = build_model(cfg, bundle)
    load_checkpoint(model, ckpt, where=where)
    try:
        dev = resolve_device(device)
    except RuntimeError:
        raise ConfigError(f"--device {device!r}: not a device (auto, cpu, cuda, cuda:N)") from None
    from eventsnn.engine.precision import resolve_precision

    concrete = resolve_precision(precision or cfg.train.precision, dev)
    sensor = tuple(int(v) for v in info["sensor_size"]) if info.get("sensor_size") else None
    return InferenceModel(model.to(dev).eval(), cfg, info["kind"], names, shape, sensor, dev, concrete, where)


def load_inference_model(
    checkpoint: str | os.PathLike[str],
    *,
    config: str | None = None,
    overrides: Sequence[str] = (),
    device: str = "auto",
    precision: str | None = None,
) -> InferenceModel:
    """Everything `predict` and `stream` need from a checkpoint (see the module docstring)."""
    from eventsnn.models.checkpoint import read_checkpoint

    where = str(Path(checkpoint))
    ckpt = read_checkpoint(checkpoint)
    cfg = inference_config(ckpt, where, config, overrides)
    info = describe_data(cfg, ckpt, where)
    return build_inference_model(ckpt, cfg, info, where, device=device, precision=precision)
