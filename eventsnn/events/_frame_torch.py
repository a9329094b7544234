"""Torch framing (any device): flat bin index per event, then one `index_add_` on the device.

    flat = ((f * P + p) * H + y) * W + x,   frames.flat[flat] += 1

The frame f of each event comes from the index plan of `frame._plan` (ranges [starts, ends)).
Indices are int32 while M*P*H*W < 2**31 (half the memory traffic of int64), built in place;
integer atomics on CUDA make the result exact and order-independent.
"""

from __future__ import annotations

import numpy as np
import torch

_TORCH_DTYPES = {
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
}
_WIDE = {np.dtype(np.uint32), np.dtype(np.int64), np.dtype(np.uint64)}


def as_tensor(a, device: torch.device | None, *, time: bool = False) -> torch.Tensor:
    """A field as a tensor on `device`. numpy coordinates of <= 16 bits become int32, wider ones
    (and times) int64, floats float64; astype copies into fresh, well-strided memory."""
    if isinstance(a, torch.Tensor):
        return a.to(device) if device is not None else a
    a = np.asarray(a)
    if a.dtype.kind == "f":
        dtype = np.float64
    elif time or a.dtype in _WIDE:
        dtype = np.int64
    else:
        dtype = np.int32
    return torch.from_numpy(a.astype(dtype)).to(device)


def first_bad_torch(x: torch.Tensor, y: torch.Tensor, p: torch.Tensor, sensor_size) -> int:
    """Index of the first event outside the sensor, or -1 (min/max first; the mask only on failure)."""
    W, H, P = sensor_size
    checks = [(x, W), (y, H)]
    if P > 1 and p.dtype != torch.bool:
        checks.append((p, P))
    if x.numel() == 0:
        return -1
    ok = True
    for a, limit in checks:
        lo, hi = torch.aminmax(a)
        ok = ok and bool(lo >= 0) and bool(hi < limit)
    if ok:
        return -1
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
    bins = M * P * H * W
    idx_dtype = torch.int32 if bins < 2**31 else torch.int64
    lengths = torch.from_numpy((ends - starts).astype(np.int64)).to(dev)
    fid = torch.repeat_interleave(torch.arange(M, device=dev, dtype=idx_dtype), lengths)  # [n_counted]
    partition = M > 0 and starts[0] == 0 and ends[-1] == n and bool(np.all(starts[1:] == ends[:-1]))
    if not partition:  # tonic modes: some events in no frame (or, by rounding, in two)
        idx = torch.cat([torch.arange(int(s), int(e), device=dev) for s, e in zip(starts, ends)])
        x, y, p = x[idx], y[idx], p[idx]
    flat = fid.mul_(P)
    if P > 1:
        flat.add_(p.to(idx_dtype))
    flat.mul_(H).add_(y.to(idx_dtype)).mul_(W).add_(x.to(idx_dtype))
    acc_dtype = torch.int64 if np.dtype(dtype) == np.int64 else torch.int32
    counts = torch.zeros(bins, dtype=acc_dtype, device=dev)
    counts.index_add_(0, flat, torch.ones(1, dtype=acc_dtype, device=dev).expand(flat.shape[0]))
    return counts.view(M, P, H, W).to(_TORCH_DTYPES[np.dtype(dtype)])
