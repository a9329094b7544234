"""DA-SSDP maths as pure functions (Tian et al., TMLR 2025, arXiv 2512.07194; docs/dassdp.md).

For one layer, `eventsnn.plasticity.activity.unit_activity` turns the recorded input / output
X `[T, B, C_in, *spatial]`, Y `[T, B, C_out, *spatial]` into flags a and latencies tau per row r
(a sample, or a (sample, position) pair with `spatial="positions"`) and unit. Then

    lambda[r,j,i] = a_post[r,j] a_pre[r,i]
    g[r,j,i]      = exp(-(tau_post[r,j] - tau_pre[r,i])^2 / (2 sigma^2))
    P[r,j,i]      = g (A+ lambda - A- (1 - lambda))
    S_b           = mean_p (mean_j a_post[b,p,j] * mean_i a_pre[b,p,i])      (P = 1 without positions)
    G_b           = clamp(1 + k (S_b - mu_S) / sd_S, 0, 2)
    dW[j,i]       = clamp((1/R) sum_r G_b(r) P[r,j,i], -1, 1)                  (R = B * P)

Factorisation (never a `[R, C_out, C_in]` tensor): P depends on (r, j, i) only through the
small codes u = code_post[r,j], c = code_pre[r,i] (a code fixes latency and flag), so
P[r,j,i] = M[u, c] with M[u, c] = K(lat(u) - lat(c)) (A+ if act(u) and act(c) else -A-), and

    sum_r G_r P[r,j,i] = sum_u (G [code_post = u])^T  M[u, code_pre]

one GEMM `[C_out, R] x [R, C_in]` per post code but the last (T + 1 codes; 2T + 1 for the
released classifier), accumulated; the last code (silent) is a rank-1 term, because every
(r, j) carries exactly one code. Memory O(R (C_in + C_out) + C_out C_in).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from eventsnn.plasticity.activity import PlasticityInputError, Units, check_variant, unit_activity
from eventsnn.spikes import first_spike_time, latency_kernel

SUM_FIELDS = ("n", "sum_S", "sum_S2", "sum_L", "sum_L2", "sum_SL")
_STD_EPS = 1e-8
_CONST_REL = 1e-12  # a variance below this fraction of the second moment is float64 rounding: 0

__all__ = ["SUM_FIELDS", "PlasticityInputError", "Units"]


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


def unit_pair(
    pre: torch.Tensor,
    post: torch.Tensor,
    *,
    reference: str = "paper",
    spatial: str = "any",
    channels_last: bool = False,
    name: str | None = None,
) -> tuple[Units, Units]:
    """Checked (pre, post) `Units` of one layer; `positions` needs the same positions on both sides."""
    _check_pair(pre, post, name)
    check_variant(reference, spatial)
    a = unit_activity(pre, reference=reference, spatial=spatial, channels_last=channels_last)
    b = unit_activity(post, reference=reference, spatial=spatial, channels_last=channels_last)
    if a.code.shape[0] != b.code.shape[0]:
        where = f"layer {name!r}: " if name else ""
        raise PlasticityInputError(
            f"{where}spatial: positions needs the same positions before and after the layer, got "
            f"{a.positions} and {b.positions} (pre {tuple(pre.shape)}, post {tuple(post.shape)}); "
            "use spatial: any for this layer"
        )
    return a, b


def latencies(spikes: torch.Tensor) -> torch.Tensor:
    """First-spike latency of `[T, B, C, *spatial]` activity, spatial reduced with any: int64 `[B, C]`.

    The FIRST spike (`[0,1,0,1,1,0] -> 1`), T for a silent unit (the paper's definition).
    """
    s = spikes.detach() > 0
    return first_spike_time(s.flatten(3).any(dim=3) if s.dim() > 3 else s, backend="torch")


def synchrony_from_latency(tau_pre: torch.Tensor, tau_post: torch.Tensor, T: int) -> torch.Tensor:
    """S_b = mean_j a_post[b,j] * mean_i a_pre[b,i] from paper latencies (a = tau < T): float64 `[B]`."""
    a_pre = (tau_pre < T).to(torch.float64).mean(dim=1)
    a_post = (tau_post < T).to(torch.float64).mean(dim=1)
    return a_pre * a_post


def synchrony(pre: Units, post: Units) -> torch.Tensor:
    """S_b = mean_p (mean_j a_post[b,p,j] * mean_i a_pre[b,p,i]): float64 `[B]`."""
    rate_pre = pre.active.to(torch.float64).mean(dim=1)  # [R]
    rate_post = post.active.to(torch.float64).mean(dim=1)
    return (rate_pre * rate_post).view(pre.samples, -1).mean(dim=1)


def _check_gate(gate: torch.Tensor | None, B: int, name: str | None) -> None:
    if gate is not None and tuple(gate.shape) != (B,):
        where = f"layer {name!r}: " if name else ""
        raise PlasticityInputError(f"{where}gate must have shape [B] = [{B}], got {tuple(gate.shape)}")


def pair_table(post: Units, pre: Units, *, a_plus: float, a_minus: float, sigma: float) -> torch.Tensor:
    """M `[L_post, L_pre]` float64: P for a (post code, pre code) pair."""
    K = latency_kernel((post.latency_of[:, None] - pre.latency_of[None, :]).to(torch.float64), sigma)
    both = post.active_of[:, None] & pre.active_of[None, :]
    return K * torch.where(both, K.new_tensor(a_plus), K.new_tensor(-a_minus))


def numerator(
    pre: Units,
    post: Units,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """sum_r G_b(r) P[r,j,i] `[C_out, C_in]` (unclamped, not divided); gate `[B]` or None (= 1)."""
    M = pair_table(post, pre, a_plus=a_plus, a_minus=a_minus, sigma=sigma).to(dtype)
    code_pre, code_post = pre.code.long(), post.code
    R, c_out = code_post.shape
    row_gate = None
    if gate is not None:
        row_gate = gate.to(device=code_post.device, dtype=dtype).repeat_interleave(R // pre.samples)
        row_gate = row_gate.view(R, 1)
    # sum_u [code_post = u] = 1, so the last code (silent / never spiked) is a rank-1 term:
    # sum_u left_u^T M[u][pre] = sum_{u<last} left_u^T (M[u] - M[last])[pre] + 1 (G^T M[last][pre])
    last = M.shape[0] - 1
    base = M[last][code_pre]  # [R,C_in]
    g = row_gate.view(1, R) if row_gate is not None else torch.ones(1, R, dtype=dtype, device=base.device)
    out = (g @ base).expand(c_out, -1).clone()  # [C_out,C_in]
    for u in range(last):
        left = (code_post == u).to(dtype)  # [R,C_out]
        if row_gate is not None:
            left.mul_(row_gate)
        out.addmm_(left.T, (M[u] - M[last])[code_pre])  # [C_out,R] x [R,C_in]
    return out


def finish_delta_w(numerator: torch.Tensor, rows: int | float | torch.Tensor, dw_clip: float = 1.0):
    """dW = clamp(numerator / R, -dw_clip, dw_clip)."""
    return (numerator / rows).clamp_(-dw_clip, dw_clip)


def da_ssdp_delta_w(
    pre_spikes: torch.Tensor,
    post_spikes: torch.Tensor,
    *,
    a_plus: float,
    a_minus: float,
    sigma: float,
    gate: torch.Tensor | None = None,
    spatial: str = "any",
    reference: str = "paper",
    dw_clip: float = 1.0,
    dtype: torch.dtype = torch.float32,
    name: str | None = None,
    reduce: Callable[[torch.Tensor, int], tuple[torch.Tensor, int | float | torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Clamped DA-SSDP update dW `[C_out, C_in]` = clamp((1/R) sum_r G_b P[r,j,i], -dw_clip, dw_clip).

    Args:
        pre_spikes: `[T, B, C_in, *spatial]` layer input activity (value > 0 is a spike).
        post_spikes: `[T, B, C_out, *spatial]` layer output activity.
        a_plus, a_minus, sigma: potentiation, depression, latency-kernel width.
        gate: per-sample dopamine gate `[B]`; None means 1 (plain SSDP).
        spatial: "any" (positions reduced with any, R = B) or "positions" (each position its own
            pre/post pair sharing the weight, R = B * positions; docs/dassdp.md "Findings" point 2).
        reference: "paper" (first spike, any-over-time flags) or "released" (the authors' code:
            activity by tensor shape; see `eventsnn.plasticity.activity`).
        dw_clip: elementwise clamp of dW.
        dtype: compute dtype of the GEMMs (float32; float64 for reference checks).
        reduce: under DDP, `reduce(numerator, R) -> (numerator, R)` summed over the processes
            before dividing (numerator: the unclamped sum_r G_b P `[C_out, C_in]`); None: this
            process alone.

    Example:
        Pre unit 0 fires with the post unit at t = 0 (lambda = 1, equal latencies: g = 1, so
        P = a_plus = 1); pre unit 1 is silent (latency T = 2: g = exp(-2) and lambda = 0, so
        P = -a_minus * exp(-2) = -0.0677). No gate: G = 1.

        >>> import torch
        >>> pre = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(2, 1, 2)  # [T=2, B=1, C_in=2]
        >>> post = torch.tensor([[1.0], [0.0]]).view(2, 1, 1)  # [T=2, B=1, C_out=1]
        >>> da_ssdp_delta_w(pre, post, a_plus=1.0, a_minus=0.5, sigma=1.0)
        tensor([[ 1.0000, -0.0677]])
    """
    pre, post = unit_pair(pre_spikes, post_spikes, reference=reference, spatial=spatial, name=name)
    _check_gate(gate, pre.samples, name)
    num = numerator(pre, post, a_plus=a_plus, a_minus=a_minus, sigma=sigma, gate=gate, dtype=dtype)
    rows = pre.code.shape[0]
    if reduce is not None:
        num, rows = reduce(num, rows)
    return finish_delta_w(num, rows, dw_clip)


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
    """(k, mu_S, sd_S) float64 `[3]` from streaming sums `[6]` (`SUM_FIELDS` order); docs/dassdp.md step 6.

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
