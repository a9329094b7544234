"""Plain-Python reference loops (slow, obviously correct); the tests compare every path to these.

Inputs are numpy arrays `[T, B, C, *spatial]`; a value > 0 is a spike.
"""

from __future__ import annotations

import itertools

import numpy as np


def _spike_table(x: np.ndarray, reduce_spatial: bool) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """s[t][b][unit] as Python bools; units are (c, *spatial) or (c,) when reduced."""
    T, B, C = x.shape[:3]
    spatial = x.shape[3:]
    cells = list(itertools.product(*(range(n) for n in spatial)))
    units = [(c,) for c in range(C)] if reduce_spatial else [(c, *s) for c in range(C) for s in cells]
    table = {}
    for t in range(T):
        for b in range(B):
            for u in units:
                if reduce_spatial:
                    table[t, b, u] = any(float(x[(t, b, u[0], *s)]) > 0 for s in cells)
                else:
                    table[t, b, u] = float(x[(t, b, *u)]) > 0
    return table, units


def spike_statistics(
    x: np.ndarray, reduce_spatial: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first spike time, active flag, count) per unit, by loops."""
    T, B, C = x.shape[:3]
    out_shape = (B, C) if reduce_spatial else (B, C, *x.shape[3:])
    first = np.full(out_shape, T, dtype=np.int64)
    counts = np.zeros(out_shape, dtype=np.int64)
    table, units = _spike_table(x, reduce_spatial)
    for b in range(B):
        for u in units:
            for t in range(T):
                if table[t, b, u]:
                    counts[(b, *u)] += 1
                    if first[(b, *u)] == T:
                        first[(b, *u)] = t
    return first, counts > 0, counts


def batch_synchrony(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """S_b = mean over (j, i) of a_post[b, j] * a_pre[b, i], by a loop over all pairs."""
    _, a_pre, _ = spike_statistics(pre, reduce_spatial=True)
    _, a_post, _ = spike_statistics(post, reduce_spatial=True)
    B, C_in = a_pre.shape
    C_out = a_post.shape[1]
    out = np.zeros(B, dtype=np.float64)
    for b in range(B):
        total = 0
        for j in range(C_out):
            for i in range(C_in):
                total += int(a_post[b, j]) * int(a_pre[b, i])
        out[b] = total / (C_out * C_in)
    return out


def cofiring_score(x: np.ndarray) -> np.ndarray:
    """Mean over time bins of the fraction of channel pairs (i < j) that both spike in the bin."""
    T, B, C = x.shape[:3]
    table, _ = _spike_table(x, reduce_spatial=True)
    out = np.zeros(B, dtype=np.float64)
    n_pairs = C * (C - 1) // 2
    if n_pairs == 0:
        return out
    for b in range(B):
        hits = 0
        for t in range(T):
            for i in range(C):
                for j in range(i + 1, C):
                    hits += table[t, b, (i,)] and table[t, b, (j,)]
        out[b] = hits / (T * n_pairs)
    return out
