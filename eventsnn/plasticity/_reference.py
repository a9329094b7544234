"""Direct `[B, C_out, C_in]` transcription of DA-SSDP (spec/da_ssdp.md): the slow reference.

Used by the tests (float64, against the factorised update) and by `eventsnn bench plasticity`
(the "direct" contender). Independent of `eventsnn.spikes`: latencies via argmax here.
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


def direct_delta_w(
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
    """dW `[C_out, C_in]` through explicit `[B, C_out, C_in]` tensors (lambda, g, P), as written."""
    a_pre, t_pre = _flags_latency(pre)
    a_post, t_post = _flags_latency(post)
    lam = a_post.to(dtype).unsqueeze(2) * a_pre.to(dtype).unsqueeze(1)  # [B,C_out,C_in]
    dt = (t_post.unsqueeze(2) - t_pre.unsqueeze(1)).to(dtype)  # [B,C_out,C_in]
    g = torch.exp(-(dt * dt) / (2.0 * sigma * sigma))
    P = g * (a_plus * lam - a_minus * (1.0 - lam))
    if gate is not None:
        P = P * gate.to(dtype).view(-1, 1, 1)
    return P.mean(dim=0).clamp(-dw_clip, dw_clip)


def direct_synchrony(pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
    """S_b = mean over (j, i) of lambda[b, j, i], through the `[B, C_out, C_in]` tensor: float64 [B]."""
    a_pre, _ = _flags_latency(pre)
    a_post, _ = _flags_latency(post)
    lam = a_post.to(torch.float64).unsqueeze(2) * a_pre.to(torch.float64).unsqueeze(1)
    return lam.mean(dim=(1, 2))
