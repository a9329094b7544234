"""Direct `[B, C_out, C_in]` transcription of DA-SSDP (docs/dassdp.md): the slow reference.

Used by the tests (float64, against the factorised update) and by `eventsnn bench plasticity`
(the "direct" contender). Independent of `eventsnn.spikes` and `eventsnn.plasticity.activity`:
latencies by argmax here. `spatial="positions"` loops over the positions (docs/dassdp.md "Findings" 2);
`direct_positions_delta_w` builds the whole `[B, N_pos, C_out, C_in]` tensors instead.
"""

from __future__ import annotations

import torch


def _flags_latency(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes s `[T, ..., C]` (bool) -> (active bool `[..., C]`, first-spike latency int64 `[..., C]`,
    T if silent)."""
    T = s.shape[0]
    active = s.any(dim=0)
    first = s.to(torch.uint8).argmax(dim=0)  # the first maximal index
    return active, torch.where(active, first, torch.full_like(first, T))


def _channel_spikes(x: torch.Tensor) -> torch.Tensor:
    """`[T, B, C, *spatial]` -> bool `[T, B, C]`: any over the spatial dims of x > 0."""
    return (x > 0).flatten(3).any(dim=3) if x.dim() > 3 else x > 0


def _pair_update(a_pre, t_pre, a_post, t_post, *, a_plus, a_minus, sigma, gate, dtype) -> torch.Tensor:
    """sum over the leading dims `[B, ...]` of G_b P[b,...,j,i] through explicit `[B, ..., C_out, C_in]`
    tensors (lambda, dt, g, P), from flags and latencies `[B, ..., C]`."""
    lam = a_post.to(dtype).unsqueeze(-1) * a_pre.to(dtype).unsqueeze(-2)  # [B,...,C_out,C_in]
    dt = (t_post.unsqueeze(-1) - t_pre.unsqueeze(-2)).to(dtype)  # [B,...,C_out,C_in]
    g = torch.exp(-(dt * dt) / (2.0 * sigma * sigma))
    P = g * (a_plus * lam - a_minus * (1.0 - lam))
    if gate is not None:
        P = P * gate.to(dtype).view(-1, *([1] * (P.dim() - 1)))
    return P.flatten(0, -3).sum(dim=0)


def direct_delta_w(
    pre: torch.Tensor,
    post: torch.Tensor,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dw_clip: float = 1.0,
    spatial: str = "any",
    dtype: torch.dtype = torch.float32,
    positions_at_once: bool = False,
) -> torch.Tensor:
    """dW `[C_out, C_in]` through explicit `[B, C_out, C_in]` tensors (lambda, g, P), as written.

    `spatial="positions"`: for every position p of `[T, B, C, *spatial]` separately, the same
    with that position's spikes, summed over p, divided by B * N_pos: one position at a time, or
    with `positions_at_once` through whole `[B, N_pos, C_out, C_in]` tensors.
    """
    kw = dict(a_plus=a_plus, a_minus=a_minus, sigma=sigma, gate=gate, dtype=dtype)
    if spatial == "positions" and pre.dim() > 3:
        xs, ys = pre.flatten(3) > 0, post.flatten(3) > 0  # [T,B,C,P]
        rows = pre.shape[1] * xs.shape[3]  # B * N_pos
        if positions_at_once:
            xs, ys = xs.transpose(2, 3), ys.transpose(2, 3)  # [T,B,P,C]
            total = _pair_update(*_flags_latency(xs), *_flags_latency(ys), **kw)
        else:
            total = 0.0
            for p in range(xs.shape[3]):
                total = total + _pair_update(*_flags_latency(xs[..., p]), *_flags_latency(ys[..., p]), **kw)
        return (total / rows).clamp(-dw_clip, dw_clip)
    total = _pair_update(*_flags_latency(_channel_spikes(pre)), *_flags_latency(_channel_spikes(post)), **kw)
    return (total / pre.shape[1]).clamp(-dw_clip, dw_clip)


def direct_positions_delta_w(pre: torch.Tensor, post: torch.Tensor, **kw) -> torch.Tensor:
    """`direct_delta_w` per position through whole `[B, N_pos, C_out, C_in]` tensors (the bench's
    "direct")."""
    return direct_delta_w(pre, post, spatial="positions", positions_at_once=True, **kw)


def direct_synchrony(pre: torch.Tensor, post: torch.Tensor, spatial: str = "any") -> torch.Tensor:
    """S_b = mean over (j, i) of lambda[b, j, i] (mean over positions too with `positions`): float64 [B]."""
    if spatial == "positions" and pre.dim() > 3:
        xs, ys = pre.flatten(3), post.flatten(3)
        per = [direct_synchrony(xs[..., p], ys[..., p]) for p in range(xs.shape[3])]
        return torch.stack(per, dim=1).mean(dim=1)
    a_pre, _ = _flags_latency(_channel_spikes(pre))
    a_post, _ = _flags_latency(_channel_spikes(post))
    lam = a_post.to(torch.float64).unsqueeze(2) * a_pre.to(torch.float64).unsqueeze(1)
    return lam.mean(dim=(1, 2))
