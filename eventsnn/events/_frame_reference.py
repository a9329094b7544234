"""Slow, obviously-correct numpy framing: the test oracle for the numba and torch kernels.

It does not use the index plan of `frame._plan`: each frame is selected from its definition
(an index slice, or a time mask t_l <= t < t_r) and counted with `np.add.at`, the way tonic
and spikingjelly describe their framings.
"""

from __future__ import annotations

import math

import numpy as np

from eventsnn.errors import ArgumentError


def _count(out: np.ndarray, f: int, x, y, p, sel, P: int) -> None:
    xs = x[sel].astype(np.int64)
    ys = y[sel].astype(np.int64)
    ps = p[sel].astype(np.int64) if P > 1 else np.zeros_like(xs)
    np.add.at(out, (f, ps, ys, xs), 1)


def frame_reference(
    fields: dict[str, np.ndarray],
    sensor_size: tuple[int, int, int],
    mode: str,
    value: float,
    include_incomplete: bool,
    dtype: np.dtype,
) -> np.ndarray:
    """Counts [M, P, H, W]; `mode` is "count" | "time" (n_frames = value) | "time_window" | "event_count"."""
    W, H, P = sensor_size
    x, y, p = fields["x"], fields["y"], fields["p"]
    n = len(x)
    if mode in ("count", "time"):
        M = int(value)
    elif n == 0:
        M = 1
    if n == 0:
        return np.zeros((M, P, H, W), dtype=dtype)
    idx = np.arange(n)
    masks: list[np.ndarray] = []
    if mode == "count":
        di = n // M
        for i in range(M):
            hi = n if i == M - 1 else (i + 1) * di
            masks.append((idx >= i * di) & (idx < hi))
    elif mode == "time":
        t = _time(fields["t"])
        dt = (t[-1] - t[0]) // M
        for i in range(M):
            t_l = dt * i + t[0]
            masks.append((t >= t_l) & ((t < t_l + dt) | (i == M - 1)))
    elif mode == "time_window":
        t = _time(fields["t"])
        duration = t[-1] - t[0]
        rounder = math.ceil if include_incomplete else math.floor
        m = max(int(rounder((duration - value) / value) + 1), 1)
        for i in range(m):
            t_l = i * value + t[0]
            masks.append((t >= t_l) & (t < t_l + value))
    elif mode == "event_count":
        count = min(int(value), n)
        rounder = math.ceil if include_incomplete else math.floor
        m = int(rounder((n - count) / value) + 1)
        for i in range(m):
            lo = i * int(value)
            masks.append((idx >= lo) & (idx < lo + count))
    else:
        raise ArgumentError(mode)
    out = np.zeros((len(masks), P, H, W), dtype=np.int64)
    for f, sel in enumerate(masks):
        _count(out, f, x, y, p, sel, P)
    return out.astype(dtype)


def _time(t: np.ndarray) -> np.ndarray:
    return t.astype(np.float64) if t.dtype.kind == "f" else t.astype(np.int64)


def first_bad_reference(fields: dict[str, np.ndarray], sensor_size: tuple[int, int, int]) -> int:
    """Index of the first event outside the sensor, or -1 (a plain Python loop)."""
    W, H, P = sensor_size
    for k, (xi, yi, pi) in enumerate(zip(fields["x"].tolist(), fields["y"].tolist(), fields["p"].tolist())):
        pi = int(pi) if P > 1 else 0
        if not (0 <= xi < W and 0 <= yi < H and 0 <= pi < P):
            return k
    return -1
