"""Torch kernels for spike statistics (any device). A value > 0 is a spike."""

from __future__ import annotations

import torch


def reduce_spatial_max(x: torch.Tensor) -> torch.Tensor:
    """[T,B,C,S] -> [T,B,C] max over S: > 0 iff any spatial spike; NaN propagates (checked after).

    One pass without a full-size bool temporary; S = 0 gives zeros (no spike).
    """
    if x.shape[3] == 0:
        return torch.zeros(x.shape[:3], dtype=x.dtype, device=x.device)
    return x.amax(dim=3)


def stats(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """m [T,B,N] -> (first spike time int64 [B,N], count int64 [B,N]); first = T for a silent unit."""
    T = m.shape[0]
    s = m > 0  # [T,B,N]
    first = torch.full(s.shape[1:], T, dtype=torch.int64, device=m.device)  # [B,N]
    for t in range(T - 1, -1, -1):  # T small in-place fills beat where+amin over T on CPU (~30x)
        first.masked_fill_(s[t], t)
    counts = s.sum(dim=0, dtype=torch.int64)
    return first, counts


def active_fraction(m: torch.Tensor) -> torch.Tensor:
    """m [T,B,C] -> [B] float64: fraction of channels that spiked at least once."""
    a = (m > 0).any(dim=0)  # [B,C]
    if a.shape[1] == 0:
        return torch.zeros(a.shape[0], dtype=torch.float64, device=m.device)
    return a.to(torch.float64).mean(dim=1)


def cofiring(m: torch.Tensor) -> torch.Tensor:
    """m [T,B,C] -> [B] float64: sum_t n_t (n_t - 1) / (T C (C - 1))."""
    T, B, C = m.shape
    n = (m > 0).sum(dim=2, dtype=torch.int64)  # [T,B]
    if C < 2:
        return torch.zeros(B, dtype=torch.float64, device=m.device)
    return (n * (n - 1)).sum(dim=0).to(torch.float64) / (T * C * (C - 1))
