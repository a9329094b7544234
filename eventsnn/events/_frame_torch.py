"""Torch framing (any device): flat bin index per event, then one `bincount` on the device.

    flat = ((f * P + p) * H + y) * W + x,   frames = bincount(flat, minlength=M*P*H*W)

The frame f of each event comes from the index plan of `frame._plan` (ranges [starts, ends)).
"""

from __future__ import annotations

import numpy as np
import torch

_TORCH_DTYPES = {
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
}


def as_tensor(a, device: torch.device | None) -> torch.Tensor:
    """A field as a tensor on `device` (numpy arrays of any integer / bool dtype are accepted)."""
    if isinstance(a, torch.Tensor):
        return a.to(device) if device is not None else a
    a = np.asarray(a)
    # astype copies into fresh, well-strided memory (a strided 1-element view can confuse torch)
    return torch.from_numpy(a.astype(np.float64 if a.dtype.kind == "f" else np.int64)).to(device)


def first_bad_torch(x: torch.Tensor, y: torch.Tensor, p: torch.Tensor, sensor_size) -> int:
    """Index of the first event outside the sensor, or -1."""
    W, H, P = sensor_size
    x, y = x.to(torch.int64), y.to(torch.int64)
    bad = (x < 0) | (x >= W) | (y < 0) | (y >= H)
    if P > 1:
        pl = p.to(torch.int64)
        bad |= (pl < 0) | (pl >= P)
    hit = torch.nonzero(bad)
    return int(hit[0, 0]) if hit.numel() else -1


def frame_torch(
    x: torch.Tensor,
    y: torch.Tensor,
    p: torch.Tensor,
    starts: np.ndarray,
    ends: np.ndarray,
    sensor_size: tuple[int, int, int],
    dtype: np.dtype,
) -> torch.Tensor:
    """Counts [M, P, H, W] on x's device (coordinates must already be checked)."""
    W, H, P = sensor_size
    M = len(starts)
    dev = x.device
    n = x.shape[0]
    lengths = torch.from_numpy((ends - starts).astype(np.int64)).to(dev)
    fid = torch.repeat_interleave(torch.arange(M, device=dev), lengths)  # [n_counted]
    partition = M > 0 and starts[0] == 0 and ends[-1] == n and bool(np.all(starts[1:] == ends[:-1]))
    if not partition:  # tonic modes: some events in no frame (or, by rounding, in two)
        idx = torch.cat([torch.arange(int(s), int(e), device=dev) for s, e in zip(starts, ends)])
        x, y, p = x[idx], y[idx], p[idx]
    flat = fid * P
    if P > 1:
        flat += p.to(torch.int64)
    flat = (flat * H + y.to(torch.int64)) * W + x.to(torch.int64)
    counts = torch.bincount(flat, minlength=M * P * H * W)
    return counts.view(M, P, H, W).to(_TORCH_DTYPES[np.dtype(dtype)])
