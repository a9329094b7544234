"""What a layer's activity means to DA-SSDP: flags and latencies per unit, by reference and spatial mode.

A recorded tensor `x` (spike = value > 0) becomes `Units`: for every row r and unit c a small
integer code, with per-code tables of latency and activity flag. A row is one sample
(`spatial: any`, positions reduced with *any*) or one (sample, position) pair
(`spatial: positions`, rows ordered sample-major: r = b * P + p).

`reference: paper` (docs/dassdp.md steps 1-2): s[t] = x[t] > 0, a = fired at any step, latency = the
FIRST spiking step, T if silent; code = latency (T + 1 codes).

`reference: released` (NeuroSyd/DA-SSDP, by the tensor's shape; docs/dassdp.md "Findings" point 3):
- `[T, B, C]` (pooled features / logits): s[t] = x[t] > 0; a = mean_t x > 0 (strict, so a unit
  can spike and be inactive); latency = the LAST spiking step, T if it never spikes.
  Codes: active units 0..T-1 (= latency), inactive units T + latency (2T + 1 codes).
- `[T, B, C, *spatial]`: s[t] = any position > 0 (per position with `positions`); a = any over
  t; latency = the LAST spiking step, 0 for a silent unit. Codes: latency if active, T if
  silent (T + 1 codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eventsnn.errors import ArgumentError

REFERENCES = ("paper", "released")
SPATIAL = ("any", "positions")


class PlasticityInputError(ArgumentError):
    """Pre/post activity, gate or loss with the wrong shape, or an unknown rule variant."""


@dataclass(frozen=True)
class Units:
    """One side (pre or post) of a layer: `code` uint8 `[R, C]` into `latency_of` int64 `[L]` and
    `active_of` bool `[L]`; `samples` = B (R = B * positions)."""

    code: torch.Tensor
    latency_of: torch.Tensor
    active_of: torch.Tensor
    T: int
    samples: int

    @property
    def positions(self) -> int:
        return self.code.shape[0] // self.samples

    @property
    def active(self) -> torch.Tensor:
        """bool `[R, C]` activity flags."""
        return self.active_of[self.code.long()]

    @property
    def latency(self) -> torch.Tensor:
        """int64 `[R, C]` latencies (silent: T for paper and the released `[T,B,C]` hook, 0 for released
        spatial tensors)."""
        return self.latency_of[self.code.long()]


def check_variant(reference: str, spatial: str) -> None:
    """PlasticityInputError for an unknown `reference` / `spatial` value."""
    if reference not in REFERENCES:
        raise PlasticityInputError(f"reference: {reference!r}, expected one of {', '.join(REFERENCES)}")
    if spatial not in SPATIAL:
        raise PlasticityInputError(f"spatial: {spatial!r}, expected one of {', '.join(SPATIAL)}")


def _rows(x: torch.Tensor, spatial: str, channels_last: bool) -> tuple[torch.Tensor, bool]:
    """`[T, B, C, *sp]` (or `[T, B, *sp, C]`) -> (`[T, R, C]` values, whether positions were reduced).

    `any`: R = B and positions are reduced with max (a step spikes if any position > 0);
    `positions`: R = B * P, sample-major. No spatial dims: R = B either way.
    """
    x = x.detach()
    T, B = x.shape[:2]
    if x.dim() == 3:
        return x, False
    if channels_last:
        x = x.flatten(2, -2)  # [T,B,P,C]
    else:
        x = x.flatten(3).transpose(2, 3)  # [T,B,P,C]
    if spatial == "positions":
        return x.reshape(T, B * x.shape[2], x.shape[3]), False
    return x.amax(dim=2), True


def _spikes(v: torch.Tensor) -> torch.Tensor:
    """bool spikes: value > 0 (bool input as is)."""
    return v if v.dtype == torch.bool else v > 0


def _first_spike(s: torch.Tensor) -> torch.Tensor:
    """Index of the FIRST true step of bool `[T, R, C]` -> uint8 `[R, C]`, T if none."""
    T = s.shape[0]
    out = torch.full(s.shape[1:], T, dtype=torch.uint8, device=s.device)
    for t in range(T - 1, -1, -1):
        out.masked_fill_(s[t], t)
    return out


def _last_spike(s: torch.Tensor, silent: int) -> torch.Tensor:
    """Index of the LAST true step of bool `[T, R, C]` -> uint8 `[R, C]`, `silent` if none
    (the released code's `cumsum(0).argmax(0)`, with its silent value set)."""
    out = torch.full(s.shape[1:], silent, dtype=torch.uint8, device=s.device)
    for t in range(s.shape[0]):
        out.masked_fill_(s[t], t)
    return out


def unit_activity(
    x: torch.Tensor, *, reference: str = "paper", spatial: str = "any", channels_last: bool = False
) -> Units:
    """Recorded activity `[T, B, C, *spatial]` -> `Units` (see the module docstring).

    `channels_last=True`: `[T, B, *spatial, C]` (the input/output of an `nn.Linear` on tokens).
    """
    check_variant(reference, spatial)
    if x.dim() < 3:
        raise PlasticityInputError(f"expected multi-step activity [T, B, C, ...], got shape {tuple(x.shape)}")
    T, B = x.shape[:2]
    if T > 127:
        raise PlasticityInputError(f"T = {T} time steps: at most 127 are supported")
    device = x.device
    steps = torch.arange(T + 1, device=device)
    if reference == "paper":
        v, _ = _rows(x, spatial, channels_last)
        return Units(_first_spike(_spikes(v)), steps, steps < T, T, B)  # code = latency, T if silent
    if x.dim() == 3:
        v = x.detach()  # [T,B,C]: the classifier hook
        last = _last_spike(_spikes(v), silent=T)  # T if it never spikes
        code = torch.where(v.mean(dim=0) > 0, last, last + T)  # active => it spiked => last < T
        latency_of = torch.cat([steps[:T], steps])
        active_of = torch.arange(2 * T + 1, device=device) < T
        return Units(code, latency_of, active_of, T, B)
    v, _ = _rows(x, spatial, channels_last)  # [T,R,C]
    code = _last_spike(_spikes(v), silent=T)  # code T: silent (latency 0)
    latency_of = torch.cat([steps[:T], steps.new_zeros(1)])
    return Units(code, latency_of, steps < T, T, B)
