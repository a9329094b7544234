"""After framing: optional polarity-sum channel, resize to (H, W), dtype.

For frames F `[T, P, H, W]` (counts):

    third channel   F[:, P] = sum_p F[:, p]          (P0 + P1; the reference feeds 3 channels)
    resize          bilinear, align_corners=False, antialias=True (a triangle filter widened by
                    the scale factor when shrinking), applied to float frames per channel

This follows the SpikingResformer CIFAR10-DVS pipeline (github:xyshi2000/SpikingResformer,
`utils.DVStransform` + `torchvision.transforms.Resize(size, antialias=True)`): frames are made
float, resized, and the sum channel is appended after the resize (the order does not matter:
the resize is linear). `resize_mode="area"` (box averaging) is the alternative.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from eventsnn.errors import ArgumentError, DataError
from eventsnn.events.frame import to_frames
from eventsnn.events.io import check_events, read_events
from eventsnn.events.normalize import normalize_counts

_DTYPES = {
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "int16": torch.int16,
    "int32": torch.int32,
    "float16": torch.float16,
    "float32": torch.float32,
}
_MODES = ("bilinear", "area")


def frames_to_input(
    frames: Any,
    *,
    polarity_sum_channel: bool = False,
    resize: tuple[int, int] | None = None,
    dtype: str = "float32",
    resize_mode: str = "bilinear",
):
    """Frames `[T, P, H, W]` -> model input `[T, C, H', W']` (C = P, or P + 1 with the sum channel).

    Args:
        frames: counts from `to_frames` (numpy array or torch tensor; returned as the same kind,
            on the same device).
        polarity_sum_channel: append sum over polarities as channel P.
        resize: (H', W') or None; bilinear with antialias (see module docstring).
        dtype: "uint8", "uint16", "int16", "int32", "float16" or "float32". Integer outputs are
            rounded (half to even) after a resize and saturate at the dtype's range.
        resize_mode: "bilinear" (the reference) or "area".

    Returns:
        `[T, C, H', W']` of `dtype`; the input is not modified.

    Raises:
        ArgumentError (a ValueError): unknown dtype / resize_mode, resize not two positive sizes.
        DataError: frames that are not `[T, P, H, W]`.
    """
    if dtype not in _DTYPES:
        raise ArgumentError(f"frames_to_input: dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    if resize_mode not in _MODES:
        raise ArgumentError(f"frames_to_input: resize_mode must be one of {_MODES}, got {resize_mode!r}")
    is_numpy = isinstance(frames, np.ndarray)
    x = torch.from_numpy(frames) if is_numpy else frames
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise DataError(f"frames_to_input: expected frames [T, P, H, W], got {getattr(x, 'shape', type(x))}")
    target = _DTYPES[dtype]
    if resize is not None:
        size = tuple(int(s) for s in resize)
        if len(size) != 2 or min(size) < 1:
            raise ArgumentError(f"frames_to_input: resize must be (H, W) positive, got {resize!r}")
        x = x.to(torch.float32)
        if tuple(x.shape[-2:]) != size:
            kw = {"align_corners": False, "antialias": True} if resize_mode == "bilinear" else {}
            x = torch.nn.functional.interpolate(x, size=size, mode=resize_mode, **kw)  # [T,P,H',W']
    if polarity_sum_channel:
        wide = torch.float32 if x.is_floating_point() else torch.int64
        x = torch.cat(
            [x, x.to(wide).sum(dim=1, keepdim=True).to(x.dtype if x.is_floating_point() else wide)], dim=1
        )
    x = _cast(x, target)
    return x.numpy() if is_numpy else x


def _cast(x: torch.Tensor, target: torch.dtype) -> torch.Tensor:
    if target.is_floating_point:
        return x.to(target)
    info = torch.iinfo(target)
    if x.is_floating_point():
        x = torch.round(x)
    return x.to(torch.float64 if x.is_floating_point() else torch.int64).clamp(info.min, info.max).to(target)


@dataclass(frozen=True)
class FramePostprocess:
    """`frames_to_input` with fixed parameters (a hashable, printable callable)."""

    polarity_sum_channel: bool = False
    resize: tuple[int, int] | None = None
    dtype: str = "float32"
    resize_mode: str = "bilinear"
    normalize: str = "none"  # framing.normalize: per sample, after the rest (eventsnn.events.normalize)

    def __call__(self, frames: Any):
        x = frames_to_input(
            frames,
            polarity_sum_channel=self.polarity_sum_channel,
            resize=self.resize,
            dtype=self.dtype,
            resize_mode=self.resize_mode,
        )  # [T, C, H', W']
        if self.normalize == "none":
            return x
        y = normalize_counts(torch.as_tensor(x).unsqueeze(0), self.normalize)[0]  # one sample
        return y.numpy() if isinstance(x, np.ndarray) else y


def from_config(cfg) -> FramePostprocess:
    """The post-processing of an `eventsnn.config.FramingConfig`."""
    resize = tuple(cfg.resize) if cfg.resize is not None else None
    return FramePostprocess(cfg.polarity_sum_channel, resize, cfg.dtype, normalize=cfg.normalize)


@dataclass(frozen=True)
class ConfiguredFramer:
    """`to_frames` with a FramingConfig's framing fields and a fixed sensor: events -> counts
    `[T, P, H, W]` (a hashable, printable callable; picklable for DataLoader workers)."""

    sensor_size: tuple[int, int, int]
    n_frames: int | None = 10
    split_by: str = "count"
    time_window: float | None = None
    event_count: int | None = None
    backend: str = "auto"
    device: Any = None

    def __call__(self, events: Any):  # the fields are `to_frames`' arguments
        return to_frames(events, **{f.name: getattr(self, f.name) for f in fields(self)})


def framer_from_config(cfg, sensor_size: tuple[int, ...], *, device: Any = None) -> ConfiguredFramer:
    """THE one place a FramingConfig becomes a framing call: events -> counts `[T, P, H, W]`.

    The cache (`frames_from_config`) and the robustness job's event-level sweeps both frame with it.
    """
    return ConfiguredFramer(
        tuple(int(v) for v in sensor_size),
        n_frames=cfg.n_frames,
        split_by=cfg.split_by,
        time_window=cfg.time_window,
        event_count=cfg.event_count,
        backend=cfg.backend,
        device=device,
    )


def frames_from_config(events: Any, sensor_size: tuple[int, int, int], cfg, *, device: Any = None):
    """Events -> model input: `framer_from_config(cfg, sensor_size)` then `from_config(cfg)`."""
    return from_config(cfg)(framer_from_config(cfg, sensor_size, device=device)(events))


def frame_counts(path, sensor_size: tuple[int, int, int], cfg) -> tuple[np.ndarray, int, float, float]:
    """Read one recording file, check it against `sensor_size`, count its events into frames
    `[T, P, H, W]` with a FramingConfig's framing fields (what the cache stores).

    Returns:
        (counts `[T, P, H, W]` numpy integer array, number of events, seconds decoding
        (read + check), seconds framing).

    Raises:
        DataError: unreadable, empty, unsorted, or events outside the sensor (the message names
            the file).
    """
    import time

    t0 = time.perf_counter()
    ev = read_events(path, raw=True)
    check_events(ev, sensor_size, path)
    t1 = time.perf_counter()
    counts = framer_from_config(cfg, sensor_size)(ev)
    counts = counts.numpy() if isinstance(counts, torch.Tensor) else np.asarray(counts)
    return counts, len(ev), t1 - t0, time.perf_counter() - t1


def frame_recording(path, sensor_size: tuple[int, int, int], cfg) -> tuple[np.ndarray, int, float, float]:
    """Read one recording file, check it against `sensor_size`, frame it with a FramingConfig.

    The one path from a recording file to model input frames: `frame_counts` (what the
    preprocess cache stores) then `from_config(cfg)` (what its loader derives), so a recording
    predicted alone gets the frames the cache serves for it.

    Returns:
        (frames `[T, C, H, W]` numpy array of `cfg.dtype`, number of events, seconds decoding
        (read + check), seconds framing and post-processing).

    Raises:
        DataError: as `frame_counts`.
    """
    import time

    counts, n_events, decode_s, frame_s = frame_counts(path, sensor_size, cfg)
    t0 = time.perf_counter()
    frames = from_config(cfg)(counts)
    frames = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    return frames, n_events, decode_s, frame_s + time.perf_counter() - t0
