"""Spike statistics: first-spike latency, activity flags, counts, rates, synchrony, co-firing.

Spike tensors are laid out `[T, B, C, *spatial]`; a value > 0 counts as a spike (binary
spikes, or real values such as counts). For unit n of sample b with spike train s[t]:

    first spike time  tau = min{t : s[t] = 1}, and T if the unit never fires
    activity flag     a = [tau < T]           (fired at least once)
    count             n = sum_t s[t],  firing rate r = n / T

With `reduce_spatial=True`, s[t,b,c] = any over the spatial dims of x[t,b,c,...] > 0 (the
convention of DA-SSDP, Tian et al., TMLR 2025; see `docs/dassdp.md`).

Every public function has a Numba path (CPU, parallel over the batch, one fused pass) and a
torch path (any device). `backend="auto"` uses Numba for numpy arrays and CPU tensors and
torch for CUDA tensors; the result has the input's type (and device).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from eventsnn.errors import ArgumentError
from eventsnn.spikes import _numba, _torch

Array = Any  # np.ndarray | torch.Tensor
_BACKENDS = ("auto", "numba", "torch")
_NUMBA_DTYPES = {np.dtype(d) for d in ("uint8", "int8", "int16", "int32", "int64", "float32", "float64")}


class SpikeInputError(ArgumentError):
    """A spike tensor has the wrong shape, a NaN, or values not allowed (e.g. non-binary)."""


@dataclass(frozen=True)
class SpikeStats:
    """First-spike times, activity flags and counts from one pass (numpy or torch, like the input).

    Attributes:
        first_spike: int64 `[B, C, *spatial]` (or `[B, C]`), T for silent units.
        active: bool, same shape: fired at least once.
        counts: int64, same shape: number of time steps with a spike.
        T: number of time steps.
    """

    first_spike: Array
    active: Array
    counts: Array
    T: int

    @property
    def rate(self) -> Array:
        """Firing rate counts / T as float32."""
        if isinstance(self.counts, torch.Tensor):
            return self.counts.to(torch.float32) / self.T
        return (self.counts / self.T).astype(np.float32)


# ----------------------------------------------------------------------------- checks


def _check_layout(x: Array, name: str) -> tuple[int, ...]:
    if not isinstance(x, np.ndarray | torch.Tensor):
        raise SpikeInputError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")
    shape = tuple(x.shape)
    if len(shape) < 3:
        raise SpikeInputError(f"{name}: expected [T, B, C, *spatial] (ndim >= 3), got shape {shape}")
    if shape[0] < 1:
        raise SpikeInputError(f"{name}: T must be at least 1, got shape {shape}")
    if x.dtype in (torch.complex64, torch.complex128) or (isinstance(x, np.ndarray) and x.dtype.kind == "c"):
        raise SpikeInputError(f"{name}: complex spikes are not supported")
    return shape


def _raise_odd(x: Array, name: str, binary: bool) -> None:
    """Called when some value is outside {0, 1}: raise for NaN, or for non-binary when required."""
    is_float = x.is_floating_point() if isinstance(x, torch.Tensor) else x.dtype.kind == "f"
    if is_float and bool(torch.isnan(x).any() if isinstance(x, torch.Tensor) else np.isnan(x).any()):
        raise SpikeInputError(f"{name}: contains NaN")
    if binary:
        raise SpikeInputError(f"{name}: values must be 0 or 1 (binary spikes), found others")


def _channel_flags(x: Array, shape: tuple[int, ...], name: str, binary: bool) -> np.ndarray:
    """`[T, B, C, *spatial]` (CPU) -> bool `[T, B, C]`: any over the spatial dims of x > 0 (numba);
    raises as `_raise_odd` when a value is outside {0, 1}."""
    flags = np.empty(shape[:3], dtype=np.bool_)
    odd = np.zeros(shape[1], dtype=np.bool_)
    _numba.channel_flags_kernel(_as_numpy4(x, shape), flags, odd)
    if odd.any():
        _raise_odd(x, name, binary)
    return flags


def _use_numba(x: Array, backend: str) -> bool:
    if backend not in _BACKENDS:
        raise ArgumentError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    is_cuda = isinstance(x, torch.Tensor) and x.device.type != "cpu"
    if backend == "numba" and is_cuda:
        raise ArgumentError(
            "backend='numba' needs a numpy array or a CPU tensor; got a tensor on " + str(x.device)
        )
    return backend == "numba" or (backend == "auto" and not is_cuda)


def _as_numpy4(x: Array, shape: tuple[int, ...]) -> np.ndarray:
    """[T,B,C,*spatial] -> numpy [T,B,C,S], without a copy when contiguous and of a kernel dtype."""
    if isinstance(x, torch.Tensor):
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()  # numpy has no bfloat16; the numba kernels take float32
        a = x.detach().cpu().numpy()
    else:
        a = x
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    elif a.dtype not in _NUMBA_DTYPES:
        a = a.astype(np.float32)
    S = math.prod(shape[3:])
    return np.ascontiguousarray(a).reshape(*shape[:3], S)


def _as_torch4(x: Array, shape: tuple[int, ...]) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x.detach()
    return t.reshape(*shape[:3], math.prod(shape[3:]))


def _like(out: Array, x: Array) -> Array:
    """Convert a result to the input's kind (numpy -> numpy, tensor -> tensor on x's device)."""
    if isinstance(x, torch.Tensor):
        return (torch.from_numpy(out) if isinstance(out, np.ndarray) else out).to(x.device)
    return out.numpy() if isinstance(out, torch.Tensor) else out


# ----------------------------------------------------------------------------- statistics


def spike_statistics(
    spikes: Array, *, reduce_spatial: bool = False, binary: bool = False, backend: str = "auto"
) -> SpikeStats:
    """First-spike times, activity flags and counts of `[T, B, C, *spatial]` spikes in one pass.

    Args:
        spikes: `[T, B, C, *spatial]`, bool / integer / float; a value > 0 is a spike.
        reduce_spatial: reduce the spatial dims with *any* first: outputs `[B, C]`.
        binary: require every value to be 0 or 1 (raise `SpikeInputError` otherwise).
        backend: "auto", "numba" or "torch".

    Returns:
        `SpikeStats` whose arrays have the input's kind (numpy, or torch on the input's device).
    """
    shape = _check_layout(spikes, "spikes")
    T, B, C = shape[:3]
    out_shape = (B, C) if reduce_spatial else (B, C, *shape[3:])
    if _use_numba(spikes, backend):
        x = _as_numpy4(spikes, shape)  # [T,B,C,S]
        S = x.shape[3]
        reduced = reduce_spatial and S != 1  # the units: channels (else every (c, s): [T,B,C*S])
        units = (B, C) if reduced else (B, C * S)
        first = np.empty(units, dtype=np.int64)
        counts = np.empty(units, dtype=np.int64)
        active = np.empty(units, dtype=np.bool_)
        odd = np.zeros(B, dtype=np.bool_)
        if reduced:
            _numba.stats_reduced_kernel(x, first, counts, active, odd)
        else:
            _numba.stats_kernel(x.reshape(T, B, C * S), first, counts, active, odd)
        if odd.any():
            _raise_odd(spikes, "spikes", binary)
        first, counts, active = (a.reshape(out_shape) for a in (first, counts, active))
        return SpikeStats(_like(first, spikes), _like(active, spikes), _like(counts, spikes), T)

    m = _torch_units(spikes, shape, "spikes", binary, reduce_spatial)  # [T,B,N]
    first, counts = _torch.stats(m)
    first, counts = first.reshape(out_shape), counts.reshape(out_shape)
    return SpikeStats(_like(first, spikes), _like(counts > 0, spikes), _like(counts, spikes), T)


def _torch_units(
    x: Array, shape: tuple[int, ...], name: str, binary: bool, reduce_spatial: bool
) -> torch.Tensor:
    """Torch path input: [T,B,C,*spatial] -> [T,B,N] (N = C, or C*S unreduced), values checked."""
    x4 = _as_torch4(x, shape)  # [T,B,C,S]
    if binary and x4.dtype != torch.bool and bool(((x4 != 0) & (x4 != 1)).any()):
        if x4.is_floating_point() and bool(torch.isnan(x4).any()):
            raise SpikeInputError(f"{name}: contains NaN")
        raise SpikeInputError(f"{name}: values must be 0 or 1 (binary spikes), found others")
    m = _torch.reduce_spatial_max(x4) if reduce_spatial else x4.reshape(*shape[:2], shape[2] * x4.shape[3])
    if m.is_floating_point() and bool(torch.isnan(m).any()):  # max over S propagates NaN
        raise SpikeInputError(f"{name}: contains NaN")
    return m


def first_spike_time(
    spikes: Array, *, reduce_spatial: bool = False, binary: bool = False, backend: str = "auto"
) -> Array:
    """Index of the FIRST spike along T: `[T, B, C, *spatial]` -> int64 `[B, C, *spatial]` (or `[B, C]`).

    T for a unit that never fires. `[0, 1, 0, 1, 1, 0] -> 1` (not the last spike).

    Example:
        >>> import torch
        >>> spikes = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]).view(3, 1, 2)  # [T=3, B=1, C=2]
        >>> first_spike_time(spikes)
        tensor([[1, 0]])
        >>> first_spike_time(torch.zeros(3, 1, 2))  # silent units: T
        tensor([[3, 3]])
    """
    return spike_statistics(spikes, reduce_spatial=reduce_spatial, binary=binary, backend=backend).first_spike


def activity_flags(
    spikes: Array, *, reduce_spatial: bool = False, binary: bool = False, backend: str = "auto"
) -> Array:
    """Bool `[B, C, *spatial]` (or `[B, C]`): the unit fired at least once in the window."""
    return spike_statistics(spikes, reduce_spatial=reduce_spatial, binary=binary, backend=backend).active


def spike_counts(
    spikes: Array, *, reduce_spatial: bool = False, binary: bool = False, backend: str = "auto"
) -> Array:
    """Int64 `[B, C, *spatial]` (or `[B, C]`): number of time steps with a spike."""
    return spike_statistics(spikes, reduce_spatial=reduce_spatial, binary=binary, backend=backend).counts


def firing_rate(
    spikes: Array, *, reduce_spatial: bool = False, binary: bool = False, backend: str = "auto"
) -> Array:
    """Float32 `[B, C, *spatial]` (or `[B, C]`): spike count / T."""
    return spike_statistics(spikes, reduce_spatial=reduce_spatial, binary=binary, backend=backend).rate


def _active_fraction(x: Array, name: str, binary: bool, backend: str) -> Array:
    """[T,B,C,*spatial] -> [B] float64 (input's kind): mean over c of a[b,c] (spatial any)."""
    shape = _check_layout(x, name)
    if _use_numba(x, backend):
        active = _channel_flags(x, shape, name, binary).any(axis=0)  # [B,C]
        return active.sum(axis=1) / shape[2] if shape[2] else np.zeros(shape[1])

    return _torch.active_fraction(_torch_units(x, shape, name, binary, reduce_spatial=True))


def batch_synchrony(pre: Array, post: Array, *, binary: bool = False, backend: str = "auto") -> Array:
    """Per-sample synchrony S_b of DA-SSDP: `[T, B, C_in, ...]`, `[T, B, C_out, ...]` -> float64 `[B]`.

    S_b = mean over (j, i) of a_post[b, j] * a_pre[b, i] = mean_j a_post[b, j] * mean_i a_pre[b, i],
    with a the activity flags after reducing the spatial dims with *any*. T and B must match;
    channels and spatial dims may differ. The result has `pre`'s kind and device.

    Example:
        One post unit and two pre units, of which one fired with it: half the pairs co-fire.

        >>> import torch
        >>> pre = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(2, 1, 2)  # [T=2, B=1, C_in=2]
        >>> post = torch.tensor([[1.0], [0.0]]).view(2, 1, 1)  # [T=2, B=1, C_out=1]
        >>> batch_synchrony(pre, post)
        tensor([0.5000], dtype=torch.float64)
    """
    sp, so = _check_layout(pre, "pre"), _check_layout(post, "post")
    if sp[:2] != so[:2]:
        raise SpikeInputError(f"pre and post must share T and B, got pre {sp} and post {so}")
    if isinstance(pre, torch.Tensor) != isinstance(post, torch.Tensor):
        raise SpikeInputError("pre and post must both be numpy arrays or both be torch tensors")
    if isinstance(pre, torch.Tensor) and pre.device != post.device:
        raise SpikeInputError(f"pre and post are on different devices ({pre.device}, {post.device})")
    out = _active_fraction(pre, "pre", binary, backend) * _active_fraction(post, "post", binary, backend)
    return _like(out, pre)


def cofiring_score(
    spikes: Array, *, binary: bool = False, backend: str = "auto", units: str = "channel"
) -> Array:
    """Co-firing score per sample (the synchrony box plot of DA-SSDP): `[T, B, C, ...]` -> float64 `[B]`.

    The units are channels (`units="channel"`: s[t, c] = any over the spatial dims of
    spikes[t, b, c, ...] > 0) or neurons (`units="neuron"`: every channel x position is its own
    unit, the paper's definition of Fig. 5). With n_t = sum_u s[t, u] (units spiking in time bin t)
    and U units, the score is the fraction of unit pairs (i < j) that both spike in the same time
    bin, averaged over the T bins:

        score_b = (1 / T) sum_t C(n_t, 2) / C(U, 2) = sum_t n_t (n_t - 1) / (T U (U - 1))

    O(T U) instead of a loop over U^2 pairs; 0 when U < 2. In [0, 1]; 1 iff every unit
    spikes in every bin.
    """
    if units not in ("channel", "neuron"):
        raise ArgumentError(f"units must be 'channel' or 'neuron', got {units!r}")
    shape = _check_layout(spikes, "spikes")
    if units == "neuron":  # [T, B, C * positions]: no spatial dims left to reduce
        spikes = spikes.reshape(*shape[:2], -1)
        shape = tuple(spikes.shape)
    if _use_numba(spikes, backend):
        n = _channel_flags(spikes, shape, "spikes", binary).sum(axis=2, dtype=np.int64)  # n_t [T,B]
        T, C = shape[0], shape[2]
        score = (n * (n - 1)).sum(axis=0) / (T * C * (C - 1)) if C > 1 else np.zeros(shape[1])
        return _like(score, spikes)

    return _like(_torch.cofiring(_torch_units(spikes, shape, "spikes", binary, reduce_spatial=True)), spikes)


# ----------------------------------------------------------------------------- latency kernel


def latency_kernel(dt: Array, sigma: float) -> Array:
    """Gaussian latency kernel g = exp(-dt^2 / (2 sigma^2)), elementwise (float, numpy, or tensor)."""
    if not sigma > 0:
        raise ArgumentError(f"sigma must be > 0, got {sigma}")
    if isinstance(dt, torch.Tensor):
        d = dt if dt.is_floating_point() else dt.to(torch.get_default_dtype())
        return torch.exp(-(d * d) / (2.0 * sigma * sigma))
    d = np.asarray(dt, dtype=np.float64)
    out = np.exp(-(d * d) / (2.0 * sigma * sigma))
    return float(out) if out.ndim == 0 else out


def latency_kernel_matrix(
    T: int, sigma: float, *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """K `[T+1, T+1]` with K[a, c] = exp(-(a - c)^2 / (2 sigma^2)) over latency values 0..T.

    g[b, j, i] = K[tau_post[b, j], tau_pre[b, i]] (the factorised DA-SSDP update uses K).
    """
    if T < 0:
        raise ArgumentError(f"T must be >= 0, got {T}")
    steps = torch.arange(T + 1, device=device, dtype=torch.float64)
    K = latency_kernel(steps[:, None] - steps[None, :], sigma)
    return K.to(dtype or torch.get_default_dtype())
