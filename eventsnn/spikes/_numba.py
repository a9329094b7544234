"""Numba CPU kernels for spike statistics (numpy in, numpy out, parallel over the batch).

All kernels take spikes reshaped to `[T, B, C, S]` (S = product of the spatial dims, 1 if
none); a value > 0 counts as a spike. They also report, per sample, whether any value was
outside {0, 1} (NaN included), so the caller can raise a clear error without a second pass
over well-formed input.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


@numba.njit(cache=True, parallel=True)
def stats_kernel(x, first, counts, active, odd):  # pragma: no cover - compiled
    """x [T,B,N] -> first [B,N] (int64, T if silent), counts [B,N] (int64), active [B,N], odd [B].

    Walks t backwards so the last write of `first` is the smallest t; branch-free inner loop
    over the contiguous unit axis (vectorised by LLVM). Per sample it accumulates into int32
    rows (twice the SIMD lanes of int64; T < 2**31) and widens once at the end: 25-30% faster
    than accumulating in the int64 outputs (T = 4, B = 128, C = 384 / 1024).
    """
    T, B, N = x.shape
    for b in prange(B):
        bad = False
        f = np.full(N, T, np.int32)
        n = np.zeros(N, np.int32)
        for t in range(T - 1, -1, -1):
            row = x[t, b]
            for u in range(N):
                v = row[u]
                spike = v > 0
                n[u] += np.int32(spike)
                f[u] = np.int32(t) if spike else f[u]
                bad |= (v != 0) & (v != 1)
        first_b = first[b]
        counts_b = counts[b]
        active_b = active[b]
        for u in range(N):
            first_b[u] = f[u]
            counts_b[u] = n[u]
            active_b[u] = n[u] > 0
        odd[b] = bad


@numba.njit(cache=True, inline="always")
def _any_spike(x, t, b, c):  # pragma: no cover - compiled
    """(any over s of x[t, b, c, s] > 0, whether some x[t, b, c, s] is outside {0, 1})."""
    spike = False
    bad = False
    for s in range(x.shape[3]):
        v = x[t, b, c, s]
        spike |= v > 0
        bad |= (v != 0) & (v != 1)
    return spike, bad


@numba.njit(cache=True, parallel=True)
def stats_reduced_kernel(x, first, counts, active, odd):  # pragma: no cover - compiled
    """x [T,B,C,S] -> first, counts, active [B,C] of s[t,b,c] = any_s(x[t,b,c,s] > 0); odd [B]."""
    T, B, C, _ = x.shape
    for b in prange(B):
        bad = False
        for c in range(C):
            first[b, c] = T
            counts[b, c] = 0
        for t in range(T - 1, -1, -1):
            for c in range(C):
                spike, odd_here = _any_spike(x, t, b, c)
                bad |= odd_here
                counts[b, c] += spike
                first[b, c] = t if spike else first[b, c]
        for c in range(C):
            active[b, c] = counts[b, c] > 0
        odd[b] = bad


@numba.njit(cache=True, parallel=True)
def channel_flags_kernel(x, flags, odd):  # pragma: no cover - compiled
    """x [T,B,C,S] -> flags [T,B,C] = any over s of x[t,b,c,s] > 0 (bool); odd [B]."""
    T, B, C, _ = x.shape
    for b in prange(B):
        bad = False
        for t in range(T):
            for c in range(C):
                flags[t, b, c], odd_here = _any_spike(x, t, b, c)
                bad |= odd_here
        odd[b] = bad
