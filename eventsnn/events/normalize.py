"""Frame normalisation after loading: how raw event counts become comparable across recordings.

Frames are event counts, so a recording with half its events gives half the input current: a
model trained on raw counts can fall to chance when 50% of the events are dropped (measured on
the demo: 12-16% top-1 with 10 classes). `framing.normalize` picks one of:

    none        x                                   (raw counts, the default; the released pipeline)
    per_sample  x / max over (T, C, H, W) of x      (each sample scaled to [0, 1]; a sample of
                                                     zeros stays zeros)
    log1p       log(1 + x)                          (compresses hot pixels, keeps 0 at 0)

`per_sample` makes the input invariant to scaling all counts of a sample by a constant (a
uniform change of the event rate, to first order); `log1p` only damps it. Applied per batch by
the loader after the counts are read (`eventsnn.data.derive`) and by `FramePostprocess` (robustness,
predict, stream), never stored in the cache.
"""

from __future__ import annotations

from typing import Literal

import torch

from eventsnn.errors import ArgumentError

NORMALIZE = ("none", "per_sample", "log1p")
Normalize = Literal["none", "per_sample", "log1p"]


def normalize_counts(x: torch.Tensor, mode: str) -> torch.Tensor:
    """`x` `[B, T, C, H, W]` (or any `[B, ...]`) non-negative counts -> float tensor of the same
    shape, normalised per sample by `mode` (see the module docstring). ArgumentError (a ValueError)
    for another mode."""
    if mode not in NORMALIZE:
        raise ArgumentError(f"framing.normalize: {mode!r}, expected one of {', '.join(NORMALIZE)}")
    x = x.float() if not x.is_floating_point() else x
    if mode == "none":
        return x
    if mode == "log1p":
        return torch.log1p(x)
    peak = x.flatten(1).amax(dim=1).clamp(min=torch.finfo(x.dtype).tiny)  # [B]
    return x / peak.view(-1, *[1] * (x.dim() - 1))
