"""Slow, hand-written references that several tests compare against."""

from __future__ import annotations

import numpy as np


def antialias_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Bilinear antialiased downscale by hand (torchvision's `Resize(antialias=True)`): output j's
    centre sits at input coordinate (j + 0.5) s - 0.5 with s = n_in / n_out; a triangle of
    half-width s weights the inputs, truncated at the border and renormalised. `[n_out, n_in]`."""
    s = n_in / n_out
    R = np.zeros((n_out, n_in))
    for j in range(n_out):
        centre = (j + 0.5) * s - 0.5
        for i in range(n_in):
            R[j, i] = max(0.0, 1.0 - abs(i - centre) / s)
        R[j] /= R[j].sum()
    return R
