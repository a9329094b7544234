"""The stateful DA-SSDP rule of one layer: warm-up, streaming statistics, one-time gate fit.

Phases (docs/dassdp.md steps 5-8): during warm-up (`warmup` epochs or steps) the weights
are not changed and, in `da_ssdp` mode, the pairs (S_b, L) go into float64 streaming sums
(n, sum S, sum S^2, sum L, sum L^2, sum S L). At the first update after warm-up the gate is
fitted once (k, mu_S, sd_S) and frozen; then dW = clamp((1/R) sum_r G_b P, -clip, clip) over
the rows r (samples, or (sample, position) pairs with `spatial: positions`). The
hyper-parameters are one `DASSDPParams` object, passed whole.

Rules (`eventsnn.plasticity.rules`, chosen once by name): `da_ssdp` (fitted gate) and `ssdp`
(gate fixed at 1, no statistics, no fit). `ssdp` honours the same warm-up without weight change,
so the two differ only in the gate (`warmup: 0` updates from the first step). All state is in
buffers: `state_dict` round trips and a resumed run continues exactly.

DDP: each step's warm-up sums are all-reduced as they are added (6 floats), so every rank
holds the global sums at all times: the gate fit is identical on all ranks and the rank-0
checkpoint alone resumes it exactly. The dW numerator and R are all-reduced before dividing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from eventsnn.config import DASSDPParams
from eventsnn.plasticity.functional import (
    SUM_FIELDS,
    PlasticityInputError,
    finish_delta_w,
    fit_gate_from_sums,
    gate_from_fit,
    numerator,
    synchrony,
    warmup_sums,
)
from eventsnn.plasticity.hooks import LayerActivity
from eventsnn.plasticity.rules import RULES, Rule, get_rule
from eventsnn.utils.distributed import all_reduce_sum, world_size

WARMUP, UPDATE = 0, 1


def _all_reduce_numerator(numerator: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Global (sum of G_b P over all ranks `[C_out, C_in]`, global row count) in one packed all-reduce."""
    if world_size() <= 1:
        return numerator, torch.tensor(float(rows), dtype=numerator.dtype, device=numerator.device)
    flat = all_reduce_sum(torch.cat([numerator.reshape(-1), numerator.new_tensor([float(rows)])]))
    return flat[:-1].view_as(numerator), flat[-1]


@dataclass(frozen=True)
class RuleStep:
    """What one `DASSDPRule.step` did: dW (None in warm-up), per-sample S `[B]`, gate `[B]` or None."""

    delta_w: torch.Tensor | None
    synchrony: torch.Tensor
    gate: torch.Tensor | None
    warmup: bool


def _rule_named(name: str) -> Rule:
    """The registered rule `name`; PlasticityInputError (an ArgumentError) for any other."""
    if name not in RULES:
        raise PlasticityInputError(f"mode must be one of {', '.join(RULES.names())}, got {name!r}")
    return get_rule(name)


class DASSDPRule(nn.Module):
    """DA-SSDP state of one layer; the hyper-parameters are plain floats, the state is buffers."""

    def __init__(
        self,
        name: str,
        params: DASSDPParams | None = None,
        *,
        mode: Rule | str = "da_ssdp",
        steps_per_epoch: int | None = None,
        compute_dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        self.rule = mode if isinstance(mode, Rule) else _rule_named(mode)
        self.name, self.mode = name, self.rule.name
        self.params = params if params is not None else DASSDPParams()
        self.steps_per_epoch = steps_per_epoch
        self.compute_dtype = compute_dtype

        def scalar(value, dtype):
            return torch.tensor(value, dtype=dtype, device=device)

        self.register_buffer("phase", scalar(WARMUP, torch.int64))
        self.register_buffer("step_count", scalar(0, torch.int64))  # apply() calls so far
        self.register_buffer("epoch", scalar(-1, torch.int64))  # epoch of the last apply()
        for field in SUM_FIELDS:
            self.register_buffer(field, scalar(0.0, torch.float64))
        self.register_buffer("k", scalar(0.0, torch.float64))
        self.register_buffer("mu_S", scalar(0.0, torch.float64))
        self.register_buffer("sd_S", scalar(1.0, torch.float64))
        self._phase, self._steps = WARMUP, 0  # host mirrors: no device sync per step
        self.register_load_state_dict_post_hook(lambda module, incompatible: module._refresh())

    def _refresh(self) -> None:
        self._phase, self._steps = int(self.phase), int(self.step_count)

    # ------------------------------------------------------------------ phase
    def in_warmup(self, epoch: int | None) -> bool:
        """True while the warm-up lasts (before the gate fit); the phase never goes back."""
        if self._phase != WARMUP:
            return False
        p = self.params
        if p.warmup_unit == "steps":
            return self._steps < p.warmup
        if epoch is None:
            if not self.steps_per_epoch:
                raise PlasticityInputError(
                    f"layer {self.name!r}: warm-up in epochs needs apply(epoch=...) or steps_per_epoch"
                )
            epoch = self._steps // self.steps_per_epoch
        return epoch < p.warmup

    def _sums(self) -> torch.Tensor:
        return torch.stack([getattr(self, f) for f in SUM_FIELDS])

    def fit_gate(self) -> None:
        """One-time fit at the end of warm-up (all-reduced sums); ssdp: k = 0, mu = 0, sd = 1 (gate 1)."""
        if self.rule.gated:
            k, mu, sd = fit_gate_from_sums(self._sums()).unbind()
            self.k.copy_(k)
            self.mu_S.copy_(mu)
            self.sd_S.copy_(sd)
        self.phase.fill_(UPDATE)
        self._phase = UPDATE

    def gate(self, S: torch.Tensor) -> torch.Tensor | None:
        """G_b `[B]` from the frozen fit (None in ssdp mode: gate 1)."""
        if not self.rule.gated:
            return None
        p = self.params
        return gate_from_fit(S, self.k, self.mu_S, self.sd_S, low=p.gate_min, high=p.gate_max)

    def _loss_pairs(self, B: int, loss, per_sample_loss, device) -> torch.Tensor:
        if self.params.loss_granularity == "per_sample":
            if per_sample_loss is None:
                raise PlasticityInputError(
                    "plasticity.loss_granularity is per_sample: apply() needs per_sample_loss [B]"
                )
            L = torch.as_tensor(per_sample_loss).detach().to(device=device, dtype=torch.float64).reshape(-1)
            if L.numel() != B:
                raise PlasticityInputError(
                    f"layer {self.name!r}: per_sample_loss has {L.numel()} values for a batch of {B}"
                )
            return L
        if loss is None:
            raise PlasticityInputError("apply() needs loss (the batch-mean loss) during the warm-up")
        L = torch.as_tensor(loss).detach().to(device=device, dtype=torch.float64)
        if L.numel() != 1:
            raise PlasticityInputError(f"loss must be a scalar (the batch mean), got shape {tuple(L.shape)}")
        return L.reshape(1).expand(B)

    # ------------------------------------------------------------------ one step
    def step(
        self,
        activity: LayerActivity,
        *,
        loss=None,
        per_sample_loss=None,
        epoch: int | None = None,
    ) -> RuleStep:
        """Warm-up bookkeeping, or the (all-reduced) dW `[C_out, C_in]` for this batch."""
        pre, post = activity.pre, activity.post
        if pre.samples != post.samples or pre.code.shape[0] != post.code.shape[0] or pre.T != post.T:
            raise PlasticityInputError(
                f"layer {self.name!r}: pre and post must share T, B and positions, got pre rows "
                f"{tuple(pre.code.shape)} and post rows {tuple(post.code.shape)}"
            )
        B, p = pre.samples, self.params
        S = synchrony(pre, post)  # [B] float64
        warm = self.in_warmup(epoch)
        dw, gate = None, None
        if warm:
            if self.rule.gated:
                contrib = warmup_sums(S, self._loss_pairs(B, loss, per_sample_loss, S.device))
                all_reduce_sum(contrib)
                for field, value in zip(SUM_FIELDS, contrib.to(self.n.device).unbind(), strict=True):
                    getattr(self, field).add_(value)
        else:
            if self._phase == WARMUP:
                self.fit_gate()
            gate = self.gate(S)
            num = numerator(
                pre,
                post,
                a_plus=p.a_plus,
                a_minus=p.a_minus,
                sigma=p.sigma,
                gate=gate,
                dtype=self.compute_dtype,
            )
            num, total = _all_reduce_numerator(num, pre.code.shape[0])
            dw = finish_delta_w(num, total, p.dw_clip)
        self._steps += 1
        self.step_count.fill_(self._steps)
        if epoch is not None:
            self.epoch.fill_(int(epoch))
        return RuleStep(dw, S, gate, warm)

    def extra_repr(self) -> str:
        return f"{self.name!r}, mode={self.mode}, {self.params}"
