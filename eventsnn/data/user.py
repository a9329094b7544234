"""Bring your own data: any torch-style data set of events or frames as a training set.

`FramedDataset(base, sensor_size, framing)` serves `(frames [T, C, H, W] float32, label)`:
  * an item whose data is a structured event array (fields t, x, y, p by name: tonic's dtype,
    spikingjelly's, eventsnn's) is checked (range, sensor) and framed with the run's
    `FramingConfig` (`eventsnn.events.postprocess.frames_from_config`, the cache's own path);
  * an item that is already frames (tensor or array `[T, C, H, W]`) is passed through as float32.
`user_data_info` returns what the model and checkpoints need to know about such a pair of sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from eventsnn.errors import ArgumentError, DataError
from eventsnn.events.formats import to_checked_events
from eventsnn.events.io import check_events
from eventsnn.events.postprocess import frames_from_config

_T = ("t", "ts", "timestamp")
_P = ("p", "pol", "polarity", "on")


def as_events(data, where: str) -> np.ndarray | None:
    """A structured event array -> `EVENT_DTYPE` (checked); None when `data` is not one."""
    names = getattr(getattr(data, "dtype", None), "names", None)
    if not names:
        return None
    t = next((k for k in _T if k in names), None)
    p = next((k for k in _P if k in names), None)
    if t is None or p is None or "x" not in names or "y" not in names:
        raise DataError(f"{where}: event fields {names}; expected t, x, y, p")
    return to_checked_events(where, data[t], data["x"], data["y"], data[p])


class FramedDataset(Dataset):
    """`(frames float32 [T, C, H, W], int label)` items of a user's data set of events or frames."""

    def __init__(
        self, base: Dataset, sensor_size: tuple[int, int, int] | None, framing, name: str = "dataset"
    ):
        self.base, self.sensor_size, self.framing, self.name = base, sensor_size, framing, name

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int):
        item = self.base[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise DataError(f"{self.name}[{i}]: expected (data, label), got {type(item).__name__}")
        data, label = item[0], item[1]
        ev = as_events(data, f"{self.name}[{i}]")
        if ev is not None:
            if self.sensor_size is None:
                raise ArgumentError(f"{self.name}: items are events: give sensor_size=(W, H, P)")
            check_events(ev, self.sensor_size, f"{self.name}[{i}]")
            frames = frames_from_config(ev, self.sensor_size, self.framing)
        else:
            frames = data
        x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
        if x.dim() != 4:
            raise DataError(f"{self.name}[{i}]: frames of shape {tuple(x.shape)}, expected [T, C, H, W]")
        return x.to(torch.float32), int(label)


@dataclass(frozen=True)
class UserDataInfo:
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    sensor_size: tuple[int, int, int] | None


def user_data_info(
    train: FramedDataset, test: FramedDataset, class_names: Sequence[str] | None
) -> UserDataInfo:
    """Class names (given, or "0".."K-1" from the labels of the training set) and the input shape
    (from the first training item)."""
    if len(train) == 0 or len(test) == 0:
        raise DataError(
            f"user data: {len(train)} training and {len(test)} test items; both must be non-empty"
        )
    x, _ = train[0]
    if class_names is None:
        labels = [int(train.base[i][1]) for i in range(len(train))]
        class_names = tuple(str(k) for k in range(max(labels) + 1))
    return UserDataInfo(tuple(str(c) for c in class_names), tuple(x.shape), train.sensor_size)
