"""Encoders: static intensities in [0, 1] -> spike sequences with a new leading time axis.

Shapes: `[C, H, W]` -> `[T, C, H, W]` (a dataset sample) and `[B, C, H, W]` -> `[T, B, C, H, W]`
(a batch, any device); any shape works, T is prepended. For intensity x in [0, 1]:

- direct:  o[t] = x for every t (analog input repeated; what SpikingResformer uses).
- rate:    o[t] ~ Bernoulli(x), independent over t (seeded `torch.Generator`); E[mean_t o] = x.
- latency: one spike at t_f, brighter -> earlier, x = 0 -> no spike:
    linear:  t_f = round((1 - x) (T - 1))
    log:     t_f = round((T - 1) min(1, ln(x) / ln(x_min)))   (x >= x_min spans 0..T-1 on a log
             scale, 0 < x < x_min spikes at T - 1; x = 1 -> 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from eventsnn.errors import ArgumentError
from eventsnn.spikes.stats import SpikeInputError


def _check_intensity(x: torch.Tensor, T: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise SpikeInputError(f"encoder input must be a torch tensor, got {type(x).__name__}")
    if T < 1:
        raise SpikeInputError(f"T must be at least 1, got {T}")
    if x.numel() == 0:
        return
    if x.is_floating_point() and bool(torch.isnan(x).any()):
        raise SpikeInputError("encoder input contains NaN")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise SpikeInputError(f"encoder input must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]")


def _float(x: torch.Tensor) -> torch.Tensor:
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def direct_encode(x: torch.Tensor, T: int) -> torch.Tensor:
    """`[...]` -> `[T, ...]`: x repeated T times (a new tensor, not a view)."""
    _check_intensity(x, T)
    return _float(x).unsqueeze(0).repeat(T, *([1] * x.dim()))


def resolve_generator(
    x: torch.Tensor, generator: torch.Generator | None, seed: int | None
) -> torch.Generator | None:
    """`generator` if given, else a new one on x's device seeded with `seed`, else None (global RNG)."""
    if generator is not None:
        return generator
    if seed is None:
        return None
    return torch.Generator(device=x.device).manual_seed(seed)


def rate_encode(
    x: torch.Tensor, T: int, *, generator: torch.Generator | None = None, seed: int | None = None
) -> torch.Tensor:
    """`[...]` -> `[T, ...]` of 0/1: o[t] ~ Bernoulli(x). `generator` (on x's device) or `seed`.

    Example:
        >>> import torch
        >>> spikes = rate_encode(torch.tensor([[0.0, 1.0]]), T=3, seed=0)  # [B=1, C=2] -> [3, 1, 2]
        >>> spikes[:, 0].tolist()  # intensity 0 never fires, 1 always does
        [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    """
    _check_intensity(x, T)
    p = _float(x).unsqueeze(0).expand(T, *x.shape)
    return torch.bernoulli(p, generator=resolve_generator(x, generator, seed))


def latency_encode(
    x: torch.Tensor, T: int, *, mode: Literal["linear", "log"] = "linear", x_min: float = 0.01
) -> torch.Tensor:
    """`[...]` -> `[T, ...]` of 0/1 with at most one spike per element (see the module docstring)."""
    _check_intensity(x, T)
    xf = _float(x)
    if mode == "linear":
        t_f = torch.round((1.0 - xf) * (T - 1))
    elif mode == "log":
        if not 0 < x_min < 1:
            raise ArgumentError(f"x_min must be in (0, 1), got {x_min}")
        frac = torch.log(xf.clamp_min(x_min)) / math.log(x_min)
        t_f = torch.round(frac.clamp(0.0, 1.0) * (T - 1))
    else:
        raise ArgumentError(f"mode must be 'linear' or 'log', got {mode!r}")
    t_f = torch.where(xf > 0, t_f, torch.full_like(t_f, T)).to(torch.int64)  # T = no spike
    steps = torch.arange(T, device=x.device).view(T, *([1] * x.dim()))
    return (steps == t_f.unsqueeze(0)).to(xf.dtype)


@dataclass(frozen=True)
class DirectEncoder:
    """Transform: `[C, H, W]` -> `[T, C, H, W]` (or a batch), x repeated T times."""

    T: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return direct_encode(x, self.T)


@dataclass(frozen=True)
class RateEncoder:
    """Transform: Bernoulli rate coding over T steps.

    With `seed` set and no generator passed, every call uses a fresh generator seeded with
    `seed` (the same input gives the same spikes); otherwise the passed generator, or torch's
    global one.
    """

    T: int
    seed: int | None = None

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return rate_encode(x, self.T, generator=generator, seed=self.seed)


@dataclass(frozen=True)
class LatencyEncoder:
    """Transform: time-to-first-spike coding (one spike, brighter earlier, zero silent)."""

    T: int
    mode: Literal["linear", "log"] = "linear"
    x_min: float = 0.01

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return latency_encode(x, self.T, mode=self.mode, x_min=self.x_min)
