"""`data.cache: none`: the loader's workers read and frame each recording on the fly.

For data sets whose cache would not fit on disk: every item is read and framed when it is
served (`frame_counts`, the function the cache's workers call), then derived like a cached item
(`eventsnn.data.derive`), so the model sees the same frames with or without a cache, at the cost
of decoding every epoch (`eventsnn bench loader` shows its samples/s beside the cache's). A
recording that cannot be read is a `DataError` naming it when it is served (`data.on_error`
needs the cache: skipping is decided while preprocessing).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from eventsnn.data.derive import Derive
from eventsnn.events.postprocess import frame_counts


class FramingDataset:
    """`(float tensor [T, C, H, W], label)` framed from `paths[i]` on access (`counts=True`: the
    int32 counts `[T, P, H, W]`, for the device path)."""

    def __init__(
        self,
        paths: Sequence,
        labels,
        sensor_size: tuple[int, int, int],
        framing,
        derive: Derive,
        indices=None,
    ) -> None:
        self.paths = tuple(Path(p) if isinstance(p, str) else p for p in paths)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.indices = np.arange(len(self.paths)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.sensor_size, self.framing, self.derive = tuple(sensor_size), framing, derive
        self.counts = False

    def __len__(self) -> int:
        return len(self.paths)

    def read_counts(self, i: int) -> np.ndarray:
        counts, _n, _decode_s, _frame_s = frame_counts(self.paths[i], self.sensor_size, self.framing)
        return np.ascontiguousarray(counts, dtype=np.int32)

    def __getitem__(self, i: int):
        x = self.read_counts(i)  # [T,P,H,W]
        if self.counts:
            return torch.from_numpy(x), int(self.labels[i])
        return self.derive(x[None])[0], int(self.labels[i])

    def close(self) -> None:
        """Nothing held open (the same interface as `CachedFramesDataset`)."""
