"""DA-SSDP maths as pure functions (Tian et al., TMLR 2025, arXiv 2512.07194; spec/da_ssdp.md).

For one layer with input / output activity X `[T, B, C_in, *spatial]`, Y `[T, B, C_out, *spatial]`
(spike = value > 0, spatial dims reduced with *any*), first-spike latencies tau (T if silent)
and activity flags a = [tau < T]:

    lambda[b,j,i] = a_post[b,j] a_pre[b,i]
    g[b,j,i]      = exp(-(tau_post[b,j] - tau_pre[b,i])^2 / (2 sigma^2)) = K[tau_post, tau_pre]
    P[b,j,i]      = g (A+ lambda - A- (1 - lambda))
    S_b           = mean_{j,i} lambda[b,j,i] = mean_j a_post[b,j] * mean_i a_pre[b,i]
    G_b           = clamp(1 + k (S_b - mu_S) / sd_S, 0, 2)
    dW[j,i]       = clamp((1/B) sum_b G_b P[b,j,i], -1, 1)

Factorisation (never a `[B, C_out, C_in]` tensor): P depends on (b, j, i) only through
a = tau_post[b,j] and c = tau_pre[b,i] (a_post = [a < T], a_pre = [c < T]), so
P[b,j,i] = M[a, c] with M[a, c] = K[a, c] (A+ if a < T and c < T else -A-). Hence

    sum_b G_b P[b,j,i] = sum_{a, b} U[a,b,j] R[a,b,i],
    U[a,b,j] = G_b [tau_post[b,j] = a],     R[a,b,i] = M[a, tau_pre[b,i]],

one GEMM `[C_out, (T+1) B] x [(T+1) B, C_in]`. This is the spec's 2(T+1) GEMMs merged:
its U_a equals W_a for a < T and is 0 for a = T, so the A+ and A- sums share one left factor.
"""

from __future__ import annotations

import torch

from eventsnn.errors import EventsnnError
from eventsnn.spikes import first_spike_time, latency_kernel_matrix

SUM_FIELDS = ("n", "sum_S", "sum_S2", "sum_L", "sum_L2", "sum_SL")
_STD_EPS = 1e-8
_CONST_REL = 1e-12  # a variance below this fraction of the second moment is float64 rounding: 0


class PlasticityInputError(EventsnnError, ValueError):
    """Pre/post activity, gate or loss with the wrong shape."""


def binary_activity(x: torch.Tensor, *, channels_last: bool = False) -> torch.Tensor:
    """Spikes reduced over spatial dims: `[T, B, C, *spatial]` -> bool `[T, B, C]` (value > 0, any).

    With `channels_last=True` the layout is `[T, B, *spatial, C]` (the input of an `nn.Linear`).
    """
    if x.dim() < 3:
        raise PlasticityInputError(f"expected multi-step activity [T, B, C, ...], got shape {tuple(x.shape)}")
    x = x.detach()
    if x.dim() == 3:
        return x > 0
    if channels_last:
        return x.amax(dim=tuple(range(2, x.dim() - 1))) > 0  # [T,B,C]
    return x.flatten(3).amax(dim=3) > 0  # [T,B,C]


def _check_pair(pre: torch.Tensor, post: torch.Tensor, name: str | None) -> None:
    where = f"layer {name!r}: " if name else ""
    if pre.dim() < 3 or post.dim() < 3:
        raise PlasticityInputError(
            f"{where}pre/post must be [T, B, C, ...], got pre {tuple(pre.shape)} and post {tuple(post.shape)}"
        )
    if pre.shape[:2] != post.shape[:2]:
        raise PlasticityInputError(
            f"{where}pre and post must share T and B, got pre {tuple(pre.shape)} and post {tuple(post.shape)}"
        )
    if pre.shape[1] < 1:
        raise PlasticityInputError(f"{where}empty batch (B = 0)")
    if pre.device != post.device:
        raise PlasticityInputError(
            f"{where}pre and post are on different devices ({pre.device}, {post.device})"
        )


def latencies(spikes: torch.Tensor) -> torch.Tensor:
    """First-spike latency of `[T, B, C, *spatial]` activity, spatial reduced with any: int64 `[B, C]`.

    The FIRST spike (`[0,1,0,1,1,0] -> 1`), T for a silent unit (eventsnn.spikes, torch path).
    """
    s = binary_activity(spikes)  # [T,B,C]
    return first_spike_time(s, backend="torch")


def synchrony_from_latency(tau_pre: torch.Tensor, tau_post: torch.Tensor, T: int) -> torch.Tensor:
    """S_b = mean_j a_post[b,j] * mean_i a_pre[b,i] from latencies: float64 `[B]`.

    Equals `eventsnn.spikes.batch_synchrony(pre, post)` (a = tau < T).
    """
    a_pre = (tau_pre < T).to(torch.float64).mean(dim=1)
    a_post = (tau_post < T).to(torch.float64).mean(dim=1)
    return a_pre * a_post


def _check_gate(gate: torch.Tensor | None, B: int, name: str | None) -> None:
    if gate is not None and tuple(gate.shape) != (B,):
        where = f"layer {name!r}: " if name else ""
        raise PlasticityInputError(f"{where}gate must have shape [B] = [{B}], got {tuple(gate.shape)}")


def numerator_from_latency(
    tau_pre: torch.Tensor,
    tau_post: torch.Tensor,
    T: int,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """sum_b G_b P[b,j,i] from latencies `[B, C_in]`, `[B, C_out]` (T = silent): `[C_out, C_in]`.

    One GEMM over the merged (latency value, sample) axis; see the module docstring.
    """
    device = tau_pre.device
    B, c_out = tau_post.shape
    c_in = tau_pre.shape[1]
    K = latency_kernel_matrix(T, sigma, device=device, dtype=torch.float64)  # [T+1,T+1]
    fired = torch.arange(T + 1, device=device) < T
    both = fired[:, None] & fired[None, :]
    coef = torch.full_like(K, -a_minus).masked_fill_(both, a_plus)  # float64, no float32 rounding
    M = (K * coef).to(dtype)  # [T+1,T+1]: P for tau_post = a, tau_pre = c
    R = M[:, tau_pre]  # [T+1,B,C_in]
    levels = torch.arange(T + 1, device=device).view(-1, 1, 1)
    U = (tau_post.unsqueeze(0) == levels).to(dtype)  # [T+1,B,C_out]
    if gate is not None:
        U.mul_(gate.to(device=device, dtype=dtype).view(1, B, 1))
    return U.reshape(-1, c_out).T @ R.reshape(-1, c_in)  # [C_out,C_in]


def da_ssdp_numerator(
    pre_spikes: torch.Tensor,
    post_spikes: torch.Tensor,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    name: str | None = None,
) -> torch.Tensor:
    """Unclamped sum_b G_b P[b,j,i]: `[T,B,C_in,*sp]`, `[T,B,C_out,*sp]`, gate `[B]` -> `[C_out, C_in]`.

    Under DDP this is what is all-reduced (with B) before dividing; `name` labels errors.
    """
    _check_pair(pre_spikes, post_spikes, name)
    T, B = pre_spikes.shape[:2]
    _check_gate(gate, B, name)
    return numerator_from_latency(
        latencies(pre_spikes),
        latencies(post_spikes),
        T,
        a_plus=a_plus,
        a_minus=a_minus,
        sigma=sigma,
        gate=gate,
        dtype=dtype,
    )


def finish_delta_w(numerator: torch.Tensor, batch: int | float | torch.Tensor, dw_clip: float = 1.0):
    """dW = clamp(numerator / B, -dw_clip, dw_clip)."""
    return (numerator / batch).clamp_(-dw_clip, dw_clip)


def da_ssdp_delta_w(
    pre_spikes: torch.Tensor,
    post_spikes: torch.Tensor,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dw_clip: float = 1.0,
    dtype: torch.dtype = torch.float32,
    name: str | None = None,
) -> torch.Tensor:
    """Clamped DA-SSDP update dW `[C_out, C_in]` = clamp((1/B) sum_b G_b P[b,j,i], -dw_clip, dw_clip).

    Args:
        pre_spikes: `[T, B, C_in, *spatial]` layer input activity (value > 0 is a spike).
        post_spikes: `[T, B, C_out, *spatial]` layer output activity.
        a_plus, a_minus, sigma: potentiation, depression, latency-kernel width.
        gate: per-sample dopamine gate `[B]`; None means 1 (plain SSDP).
        dw_clip: elementwise clamp of dW.
        dtype: compute dtype of the GEMM (float32; float64 for reference checks).
    """
    num = da_ssdp_numerator(
        pre_spikes,
        post_spikes,
        a_plus=a_plus,
        a_minus=a_minus,
        sigma=sigma,
        gate=gate,
        dtype=dtype,
        name=name,
    )
    return finish_delta_w(num, pre_spikes.shape[1], dw_clip)


def gate_from_fit(S, k, mu, sd, *, low: float = 0.0, high: float = 2.0):
    """Dopamine gate G_b = clamp(1 + k (S_b - mu) / sd, low, high) (tensors or floats)."""
    g = 1.0 + k * (S - mu) / sd
    if isinstance(g, torch.Tensor):
        return g.clamp(low, high)
    return min(max(g, low), high)


def warmup_sums(S: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Streaming-sum contribution of pairs (S_b, L_b), float64 `[6]` in `SUM_FIELDS` order."""
    S = S.to(torch.float64)
    L = L.to(device=S.device, dtype=torch.float64)
    n = torch.tensor(float(S.numel()), dtype=torch.float64, device=S.device)
    return torch.stack([n, S.sum(), (S * S).sum(), L.sum(), (L * L).sum(), (S * L).sum()])


def fit_gate_from_sums(sums: torch.Tensor) -> torch.Tensor:
    """(k, mu_S, sd_S) float64 `[3]` from streaming sums `[6]` (`SUM_FIELDS` order); spec step 6.

    mu = mean, sd = population std + 1e-8 (S and L alike), k = -mean(((S-mu_S)/sd_S)((L-mu_L)/sd_L))
    = -cov(S, L) / (sd_S sd_L). Nothing recorded: k = 0, mu_S = 0, sd_S = 1. A variance below
    1e-12 of the second moment is float64 rounding of a constant: treated as 0 (then k = 0).
    """
    sums = sums.to(torch.float64)
    n, s1, s2, l1, l2, sl = sums.unbind()
    nn_ = n.clamp(min=1.0)
    mu_s, mu_l = s1 / nn_, l1 / nn_
    m2_s, m2_l = s2 / nn_, l2 / nn_
    var_s = (m2_s - mu_s * mu_s).clamp(min=0.0)
    var_l = (m2_l - mu_l * mu_l).clamp(min=0.0)
    var_s = torch.where(var_s <= _CONST_REL * m2_s, torch.zeros_like(var_s), var_s)
    var_l = torch.where(var_l <= _CONST_REL * m2_l, torch.zeros_like(var_l), var_l)
    cov = sl / nn_ - mu_s * mu_l
    bound = torch.sqrt(var_s * var_l)
    cov = torch.maximum(torch.minimum(cov, bound), -bound)  # Cauchy-Schwarz against rounding
    sd_s = torch.sqrt(var_s) + _STD_EPS
    sd_l = torch.sqrt(var_l) + _STD_EPS
    k = -cov / (sd_s * sd_l) + 0.0  # + 0.0: no -0.0
    empty = n <= 0
    zero, one = torch.zeros_like(k), torch.ones_like(k)
    return torch.stack(
        [torch.where(empty, zero, k), torch.where(empty, zero, mu_s), torch.where(empty, one, sd_s)]
    )
