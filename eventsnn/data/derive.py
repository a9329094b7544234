"""What the loader derives from cached event counts: the one place counts become model input.

The cache stores integer counts `[T, P, H, W]` (what is expensive: decoding and framing). What
is cheap is derived after loading, per item on the CPU or per batch on the device, with the
same function (`Derive.__call__` on `[B, T, P, H, W]`):

    x = float32(counts)                       numpy `astype` on the CPU (torch's uint16 -> float
                                              conversion on the CPU is ~50x slower), torch on a GPU
    x = frames_to_input(x, sum channel, resize, dtype)    eventsnn.events.postprocess, as framing
                                              used to do before the cache (bilinear, antialias)
    x = float32(x)                            what the model sees

Because `framing.resize`, `framing.polarity_sum_channel` and `framing.dtype` are applied here,
they are not part of the cache key: one cache serves several views, and a resize change does
not frame again. Normalisation (when the config asks for it) belongs here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eventsnn.events.normalize import normalize_counts
from eventsnn.events.postprocess import frames_to_input


@dataclass(frozen=True)
class Derive:
    """Counts `[B, T, P, H, W]` (integer) -> model input `[B, T, C, H', W']` float32."""

    polarity_sum_channel: bool = False
    resize: tuple[int, int] | None = None
    dtype: str = "float32"  # the precision the frames pass through (framing.dtype), e.g. rounding
    normalize: str = "none"  # framing.normalize, per sample after the rest (eventsnn.events.normalize)

    def shape(self, counts_shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """`[T, C, H', W']` of one derived item from the `[T, P, H, W]` of its counts."""
        t, p, h, w = (int(v) for v in counts_shape)
        c = p + (1 if self.polarity_sum_channel else 0)
        h, w = (int(self.resize[0]), int(self.resize[1])) if self.resize is not None else (h, w)
        return (t, c, h, w)

    def __call__(self, counts: torch.Tensor | np.ndarray) -> torch.Tensor:
        """`[B, T, P, H, W]` counts (numpy or torch, any device) -> float32 `[B, T, C, H', W']`."""
        x = to_float(counts)
        b, t = x.shape[:2]
        x = frames_to_input(
            x.reshape(b * t, *x.shape[2:]),
            polarity_sum_channel=self.polarity_sum_channel,
            resize=self.resize,
            dtype=self.dtype,
        )  # [B*T, C, H', W']
        x = normalize_counts(x.reshape(b, t, *x.shape[1:]), self.normalize)  # [B, T, C, H', W']
        return x if x.dtype == torch.float32 else x.to(torch.float32)


def to_float(counts: torch.Tensor | np.ndarray) -> torch.Tensor:
    """float32 tensor of `counts`: numpy's `astype` on the CPU, torch's conversion on a device."""
    if isinstance(counts, np.ndarray):
        return torch.from_numpy(counts.astype(np.float32, copy=False))
    if counts.is_floating_point() and counts.dtype == torch.float32:
        return counts
    if counts.device.type == "cpu":
        return torch.from_numpy(counts.numpy().astype(np.float32))
    return counts.to(torch.float32)


def derive_from_config(framing) -> Derive:
    """The `Derive` of a FramingConfig."""
    resize = tuple(int(v) for v in framing.resize) if framing.resize is not None else None
    return Derive(bool(framing.polarity_sum_channel), resize, str(framing.dtype), str(framing.normalize))
