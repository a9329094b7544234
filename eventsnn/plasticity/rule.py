"""The stateful DA-SSDP rule of one layer: its state in buffers, its step the pure
`eventsnn.plasticity.step.rule_step` (warm-up, streaming statistics, one-time gate fit, update).

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

import torch
from torch import nn

from eventsnn.config import DASSDPParams
from eventsnn.plasticity.functional import SUM_FIELDS, PlasticityInputError
from eventsnn.plasticity.hooks import LayerActivity
from eventsnn.plasticity.rules import RULES, Rule, get_rule
from eventsnn.plasticity.step import WARMUP, RuleState, RuleStep, in_warmup, rule_step
from eventsnn.utils.distributed import all_reduce_sum, world_size

__all__ = ["DASSDPRule", "RuleStep"]


def _rule_named(name: str) -> Rule:
    """The registered rule `name`; PlasticityInputError (an ArgumentError) for any other."""
    if name not in RULES:
        raise PlasticityInputError(f"mode must be one of {', '.join(RULES.names())}, got {name!r}")
    return get_rule(name)


class DASSDPRule(nn.Module):
    """DA-SSDP state of one layer in buffers (`state_dict` round trips, a resumed run continues
    exactly); the hyper-parameters are one `DASSDPParams`; `step` is `rule_step` on that state."""

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
        self._phase, self._steps, self._epoch = WARMUP, 0, -1  # host mirrors: no device sync per step
        self._state: RuleState | None = None  # the last state written (None: read the buffers)
        self.register_load_state_dict_post_hook(lambda module, incompatible: module._refresh())

    def _refresh(self) -> None:
        self._phase, self._steps, self._epoch = int(self.phase), int(self.step_count), int(self.epoch)
        self._state = None

    def _apply(self, fn, recurse=True):  # .to(device), .double(), ...: the buffers are new tensors
        self._state = None
        return super()._apply(fn, recurse)

    # ------------------------------------------------------------------ state <-> buffers
    def state(self) -> RuleState:
        """The current state (its tensors are not the buffers: a step never changes them)."""
        if self._state is None:
            sums = torch.stack([getattr(self, f) for f in SUM_FIELDS])
            fit = torch.stack([self.k, self.mu_S, self.sd_S])
            self._state = RuleState(self._phase, self._steps, self._epoch, sums, fit)
        return self._state

    def load_state(self, state: RuleState, previous: RuleState | None = None) -> None:
        """Write `state` into the buffers (only the tensors that differ from `previous`)."""
        if previous is None or state.sums is not previous.sums:
            for field, value in zip(SUM_FIELDS, state.sums.unbind(), strict=True):
                getattr(self, field).copy_(value)
        if previous is None or state.fit is not previous.fit:
            for buf, value in zip((self.k, self.mu_S, self.sd_S), state.fit.unbind(), strict=True):
                buf.copy_(value)
        if state.phase != self._phase:
            self.phase.fill_(state.phase)
        self.step_count.fill_(state.steps)
        if state.epoch != self._epoch:
            self.epoch.fill_(state.epoch)
        self._phase, self._steps, self._epoch = state.phase, state.steps, state.epoch
        self._state = state

    def in_warmup(self, epoch: int | None) -> bool:
        """True while the warm-up lasts (before the gate fit); the phase never goes back."""
        return in_warmup(self.state(), self.params, epoch, self.steps_per_epoch, self.name)

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
        before = self.state()
        out, after = rule_step(
            activity.pre,
            activity.post,
            before,
            self.params,
            rule=self.rule,
            loss=loss,
            per_sample_loss=per_sample_loss,
            epoch=epoch,
            steps_per_epoch=self.steps_per_epoch,
            dtype=self.compute_dtype,
            all_reduce=all_reduce_sum if world_size() > 1 else None,
            name=self.name,
        )
        self.load_state(after, before)
        return out

    def extra_repr(self) -> str:
        return f"{self.name!r}, mode={self.mode}, {self.params}"
