"""Torch kernels for spike statistics (any device). Inputs `[T, B, C, S]`, a value > 0 is a spike."""

from __future__ import annotations

import torch


def spike_mask(x: torch.Tensor, reduce_spatial: bool) -> torch.Tensor:
    """[T,B,C,S] -> bool [T,B,C,S], or [T,B,C] with the spatial dims reduced by any."""
    s = x > 0
    return s.any(dim=3) if reduce_spatial else s


def stats(x: torch.Tensor, reduce_spatial: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(first spike time int64, count int64) per unit; first = T for a silent unit."""
    T = x.shape[0]
    s = spike_mask(x, reduce_spatial)  # [T,B,C(,S)]
    first = torch.full(s.shape[1:], T, dtype=torch.int64, device=x.device)  # [B,C(,S)]
    for t in range(T - 1, -1, -1):  # T small in-place fills beat amin over T on CPU (~30x)
        first.masked_fill_(s[t], t)
    counts = s.sum(dim=0, dtype=torch.int64)
    return first, counts


def active_fraction(x: torch.Tensor) -> torch.Tensor:
    """[T,B,C,S] -> [B] float64: fraction of channels that spiked at least once (spatial any)."""
    a = (x > 0).any(dim=3).any(dim=0)  # [B,C]
    return (
        a.to(torch.float64).mean(dim=1)
        if a.shape[1] > 0
        else torch.zeros(a.shape[0], dtype=torch.float64, device=x.device)
    )


def cofiring(x: torch.Tensor) -> torch.Tensor:
    """[T,B,C,S] -> [B] float64: sum_t n_t (n_t - 1) / (T C (C - 1))."""
    T, B, C = x.shape[:3]
    n = (x > 0).any(dim=3).sum(dim=2, dtype=torch.int64)  # [T,B]
    if C < 2:
        return torch.zeros(B, dtype=torch.float64, device=x.device)
    return (n * (n - 1)).sum(dim=0).to(torch.float64) / (T * C * (C - 1))
