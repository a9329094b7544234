"""Direct `[B, C_out, C_in]` transcription of DA-SSDP (docs/dassdp.md): the slow reference.

Used by the tests (float64, against the factorised update) and by `eventsnn bench plasticity`
(the "direct" contender). Independent of `eventsnn.spikes` and `eventsnn.plasticity.activity`:
latencies by argmax here. `spatial="positions"` loops over the positions (docs/dassdp.md "Findings" 2);
`direct_positions_delta_w` builds the whole `[B, N_pos, C_out, C_in]` tensors instead.
"""

from __future__ import annotations

import torch


def _flags_latency(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[T,B,C,*spatial] -> (active bool [B,C], first-spike latency int64 [B,C], T if silent)."""
    T = x.shape[0]
    s = (x > 0).flatten(3).any(dim=3) if x.dim() > 3 else x > 0  # [T,B,C]
    active = s.any(dim=0)
    first = s.to(torch.uint8).argmax(dim=0)  # the first maximal index
    return active, torch.where(active, first, torch.full_like(first, T))


def _pair_update(a_pre, t_pre, a_post, t_post, *, a_plus, a_minus, sigma, gate, dtype) -> torch.Tensor:
    """sum_b G_b P[b,j,i] through explicit [B, C_out, C_in] tensors (lambda, dt, g, P)."""
    lam = a_post.to(dtype).unsqueeze(2) * a_pre.to(dtype).unsqueeze(1)  # [B,C_out,C_in]
    dt = (t_post.unsqueeze(2) - t_pre.unsqueeze(1)).to(dtype)  # [B,C_out,C_in]
    g = torch.exp(-(dt * dt) / (2.0 * sigma * sigma))
    P = g * (a_plus * lam - a_minus * (1.0 - lam))
    if gate is not None:
        P = P * gate.to(dtype).view(-1, 1, 1)
    return P.sum(dim=0)


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
) -> torch.Tensor:
    """dW `[C_out, C_in]` through explicit `[B, C_out, C_in]` tensors (lambda, g, P), as written.

    `spatial="positions"`: for every position p of `[T, B, C, *spatial]` separately, the same
    with that position's spikes, summed over p, divided by B * N_pos.
    """
    kw = dict(a_plus=a_plus, a_minus=a_minus, sigma=sigma, gate=gate, dtype=dtype)
    if spatial == "positions" and pre.dim() > 3:
        xs, ys = pre.flatten(3), post.flatten(3)
        total = 0.0
        for p in range(xs.shape[3]):
            total = total + _pair_update(*_flags_latency(xs[..., p]), *_flags_latency(ys[..., p]), **kw)
        return (total / (pre.shape[1] * xs.shape[3])).clamp(-dw_clip, dw_clip)
    total = _pair_update(*_flags_latency(pre), *_flags_latency(post), **kw)
    return (total / pre.shape[1]).clamp(-dw_clip, dw_clip)


def direct_positions_delta_w(
    pre: torch.Tensor,
    post: torch.Tensor,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dw_clip: float = 1.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The per-position rule through whole `[B, N_pos, C_out, C_in]` tensors (the bench's "direct")."""
    xs = (pre > 0).flatten(3).permute(0, 1, 3, 2)  # [T,B,P,C_in]
    ys = (post > 0).flatten(3).permute(0, 1, 3, 2)
    T = xs.shape[0]
    a_pre, a_post = xs.any(0), ys.any(0)  # [B,P,C]
    t_pre = torch.where(a_pre, xs.to(torch.uint8).argmax(0), torch.full_like(a_pre, T, dtype=torch.int64))
    t_post = torch.where(a_post, ys.to(torch.uint8).argmax(0), torch.full_like(a_post, T, dtype=torch.int64))
    lam = a_post.to(dtype).unsqueeze(3) * a_pre.to(dtype).unsqueeze(2)  # [B,P,C_out,C_in]
    dt = (t_post.unsqueeze(3) - t_pre.unsqueeze(2)).to(dtype)
    g = torch.exp(-(dt * dt) / (2.0 * sigma * sigma))
    P = g * (a_plus * lam - a_minus * (1.0 - lam))
    if gate is not None:
        P = P * gate.to(dtype).view(-1, 1, 1, 1)
    return P.mean(dim=(0, 1)).clamp(-dw_clip, dw_clip)


def direct_synchrony(pre: torch.Tensor, post: torch.Tensor, spatial: str = "any") -> torch.Tensor:
    """S_b = mean over (j, i) of lambda[b, j, i] (mean over positions too with `positions`): float64 [B]."""
    if spatial == "positions" and pre.dim() > 3:
        xs, ys = pre.flatten(3), post.flatten(3)
        per = [direct_synchrony(xs[..., p], ys[..., p]) for p in range(xs.shape[3])]
        return torch.stack(per, dim=1).mean(dim=1)
    a_pre, _ = _flags_latency(pre)
    a_post, _ = _flags_latency(post)
    lam = a_post.to(torch.float64).unsqueeze(2) * a_pre.to(torch.float64).unsqueeze(1)
    return lam.mean(dim=(1, 2))
