"""One step of a plasticity rule as a pure function, parameters, state and step kept apart (as
norse's `stdp_step(...) -> (w, state)`):

    out, state = rule_step(pre, post, state, params, rule=DA_SSDP, loss=loss, epoch=epoch)

`params` is the frozen `DASSDPParams`, `state` a `RuleState` (phase, steps, the warm-up sums and
the gate fit; never changed, a new one is returned) and `out` a `RuleStep` (dW `[C_out, C_in]`
or None during the warm-up, S_b, the gate). `DASSDPRule` holds one layer's state in buffers (for
`state_dict`, checkpoints and resume) and calls this step; docs/dassdp.md steps 5-8:

    warm-up   the weights are not changed; `da_ssdp` adds the pairs (S_b, L_b) to float64 streaming
              sums (n, sum S, sum S^2, sum L, sum L^2, sum S L)
    fit       at the first step after the warm-up, once: (k, mu_S, sd_S) from the sums (`ssdp`
              keeps k = 0, mu_S = 0, sd_S = 1: gate 1); the phase becomes UPDATE for good
    update    dW = clamp((1/R) sum_r G_b P[r,j,i], -dw_clip, dw_clip)

DDP: `all_reduce` (sum over processes, in place) is applied to each step's warm-up sums as they
are added and to (numerator, R) before dividing, so every process holds the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from eventsnn.config import DASSDPParams
from eventsnn.plasticity.activity import PlasticityInputError, Units
from eventsnn.plasticity.functional import (
    finish_delta_w,
    fit_gate_from_sums,
    gate_from_fit,
    numerator,
    synchrony,
    warmup_sums,
)
from eventsnn.plasticity.rules import Rule

WARMUP, UPDATE = 0, 1


@dataclass(frozen=True)
class RuleStep:
    """What one step did: dW (None in warm-up), per-sample S `[B]`, gate `[B]` or None."""

    delta_w: torch.Tensor | None
    synchrony: torch.Tensor
    gate: torch.Tensor | None
    warmup: bool


@dataclass(frozen=True)
class RuleState:
    """One layer's rule state. `phase` WARMUP / UPDATE, `steps` the steps taken, `epoch` the last
    step's epoch (-1: none given) are host integers (no device sync per step); `sums` float64 `[6]`
    (`functional.SUM_FIELDS` order), `fit` float64 `[3]` = (k, mu_S, sd_S)."""

    phase: int
    steps: int
    epoch: int
    sums: torch.Tensor
    fit: torch.Tensor

    @classmethod
    def initial(cls, device: torch.device | str | None = None) -> RuleState:
        """Before the first step: warm-up, empty sums, the gate of a neutral fit (k = 0, sd = 1)."""
        fit = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64, device=device)
        return cls(WARMUP, 0, -1, torch.zeros(6, dtype=torch.float64, device=device), fit)


def in_warmup(
    state: RuleState, params: DASSDPParams, epoch: int | None, steps_per_epoch: int | None, name: str = ""
) -> bool:
    """True while the warm-up lasts (`params.warmup` steps or epochs); the phase never goes back."""
    if state.phase != WARMUP:
        return False
    if params.warmup_unit == "steps":
        return state.steps < params.warmup
    if epoch is None:
        if not steps_per_epoch:
            raise PlasticityInputError(
                f"layer {name!r}: warm-up in epochs needs apply(epoch=...) or steps_per_epoch"
            )
        epoch = state.steps // steps_per_epoch
    return epoch < params.warmup


def loss_pairs(params: DASSDPParams, B: int, loss, per_sample_loss, device, name: str = "") -> torch.Tensor:
    """L_b float64 `[B]` paired with S_b: the per-sample losses, or the batch-mean loss for every b."""
    if params.loss_granularity == "per_sample":
        if per_sample_loss is None:
            raise PlasticityInputError(
                "plasticity.loss_granularity is per_sample: apply() needs per_sample_loss [B]"
            )
        L = torch.as_tensor(per_sample_loss).detach().to(device=device, dtype=torch.float64).reshape(-1)
        if L.numel() != B:
            raise PlasticityInputError(
                f"layer {name!r}: per_sample_loss has {L.numel()} values for a batch of {B}"
            )
        return L
    if loss is None:
        raise PlasticityInputError("apply() needs loss (the batch-mean loss) during the warm-up")
    L = torch.as_tensor(loss).detach().to(device=device, dtype=torch.float64)
    if L.numel() != 1:
        raise PlasticityInputError(f"loss must be a scalar (the batch mean), got shape {tuple(L.shape)}")
    return L.reshape(1).expand(B)


def rule_step(
    pre: Units,
    post: Units,
    state: RuleState,
    params: DASSDPParams,
    *,
    rule: Rule,
    loss=None,
    per_sample_loss=None,
    epoch: int | None = None,
    steps_per_epoch: int | None = None,
    dtype: torch.dtype = torch.float32,
    all_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
    name: str = "",
) -> tuple[RuleStep, RuleState]:
    """One step of `rule` on a layer's activity: (what it did, the new state); `state` is unchanged.

    pre/post: the layer's `Units` (same T, B and positions); loss: the batch-mean loss, or
    per_sample_loss `[B]` (`params.loss_granularity`), read during the warm-up of a gated rule;
    epoch: the current epoch (None: counted from `steps_per_epoch`); dtype: of the GEMMs;
    all_reduce: the in-place sum over processes under DDP (None: one process).
    """
    if pre.samples != post.samples or pre.code.shape[0] != post.code.shape[0] or pre.T != post.T:
        raise PlasticityInputError(
            f"layer {name!r}: pre and post must share T, B and positions, got pre rows "
            f"{tuple(pre.code.shape)} and post rows {tuple(post.code.shape)}"
        )
    S = synchrony(pre, post)  # [B] float64
    warm = in_warmup(state, params, epoch, steps_per_epoch, name)
    phase, sums, fit = state.phase, state.sums, state.fit
    dw, gate = None, None
    if warm:
        if rule.gated:
            contrib = warmup_sums(S, loss_pairs(params, pre.samples, loss, per_sample_loss, S.device, name))
            if all_reduce is not None:
                contrib = all_reduce(contrib)
            sums = sums + contrib.to(sums.device)
    else:
        if phase == WARMUP:  # the one-time fit
            if rule.gated:
                fit = fit_gate_from_sums(sums).to(fit.device)
            phase = UPDATE
        if rule.gated:
            k, mu, sd = fit.unbind()
            gate = gate_from_fit(S, k, mu, sd, low=params.gate_min, high=params.gate_max)
        p = params
        num = numerator(pre, post, a_plus=p.a_plus, a_minus=p.a_minus, sigma=p.sigma, gate=gate, dtype=dtype)
        rows = pre.code.shape[0]
        if all_reduce is None:
            dw = finish_delta_w(num, rows, p.dw_clip)
        else:  # one packed reduce: the numerator and R
            flat = all_reduce(torch.cat([num.reshape(-1), num.new_tensor([float(rows)])]))
            dw = finish_delta_w(flat[:-1].view_as(num), flat[-1], p.dw_clip)
    new = RuleState(phase, state.steps + 1, state.epoch if epoch is None else int(epoch), sums, fit)
    return RuleStep(dw, S, gate, warm), new
