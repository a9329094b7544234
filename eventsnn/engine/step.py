"""One training step: the one the Trainer runs and `eventsnn bench train-step` times.

    out = net(x) [T, B, K]  ->  per_sample = CE(mean_T out, y) [B]  ->  loss = mean(per_sample)
    ->  finite check  ->  backward (scaled for fp16)  ->  (unscale, clip,) optimizer.step()
    ->  zero_grad  ->  plasticity.apply() (W += dW, docs/dassdp.md) when the step happened
    ->  float(loss)

The forward runs under `train.precision`'s autocast with the plasticity recording. A step the
GradScaler skips (inf/NaN gradients) is a step that did not happen: no dW either
(`StepResult.stepped` False). Two host syncs per step are part of the step (so a benchmark of
it is not optimistic on a GPU): the finite check (all ranks agree under torchrun) and the
returned `float(loss)`. With `train.compile`, the first step compiles; a compiler failure
there falls back to the eager model (`engine.compilation.compile_failed`) and redoes the step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import torch
from torch import nn

from eventsnn.devices import autocast
from eventsnn.engine.compilation import CompileMode, compile_failed
from eventsnn.engine.precision import backward, optimizer_step
from eventsnn.errors import TrainingError
from eventsnn.models.readout import mean_logits, per_sample_loss
from eventsnn.utils.distributed import all_reduce_sum


@dataclass
class StepResult:
    """What one step did: its loss, whether the optimizer stepped, the plasticity's logs."""

    loss: float
    stepped: bool  # False: the GradScaler skipped the optimizer step, and with it dW
    logs: dict[str, float] = field(default_factory=dict)


def loss_is_finite(loss: torch.Tensor) -> bool:
    """Whether the scalar `loss` is finite on every rank (a host sync; under torchrun an
    all-reduce of the flags, so that every rank stops together)."""
    bad = torch.tensor([0.0 if bool(torch.isfinite(loss.detach())) else 1.0])
    return not float(all_reduce_sum(bad)) > 0


def _stop(value: float) -> NoReturn:
    raise TrainingError(f"loss is {value}; training stopped")


@dataclass
class TrainStep:
    """The parts of one training step; `step(x, y, epoch=e)` runs it on a batch on `device`.

    Attributes:
        net: what the forward runs (the compiled model, in DDP under torchrun).
        model: the eager model whose parameters are clipped and stepped (shared with `net`).
        optimizer, plasticity: the run's (`plasticity` from `build_plasticity`).
        device, precision: where and in which precision (fp32 | bf16 | fp16) the forward runs.
        scaler: the GradScaler for fp16, else None.
        compile_mode: `train.compile`; while true, the first step may fall back to eager.
        wrap: wraps an eager fallback like `net` (DDP under torchrun).
        on_nonfinite: called with the loss when it is not finite (before any backward); raises.
    """

    net: nn.Module
    model: nn.Module
    optimizer: torch.optim.Optimizer
    plasticity: Any
    device: torch.device
    precision: str = "fp32"
    scaler: torch.amp.GradScaler | None = None
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    compile_mode: CompileMode | str = False
    wrap: Callable[[nn.Module], nn.Module] = lambda net: net
    on_nonfinite: Callable[[float], NoReturn] = _stop
    compile_pending: bool = field(init=False)

    def __post_init__(self) -> None:
        self.compile_pending = self.compile_mode not in (False, "false")

    def __call__(self, x: torch.Tensor, y: torch.Tensor, *, epoch: int = 0) -> StepResult:
        """One step on input `x` [B, T, C, H, W] (or [B, C, H, W]) and labels `y` [B]."""
        loss, per_sample = self._first_compiled_or_eager(x, y)
        stepped = optimizer_step(self.optimizer, self.scaler, self.model.parameters(), self.grad_clip)
        self.optimizer.zero_grad(set_to_none=True)
        logs: dict[str, float] = {}
        if stepped:  # a skipped optimizer step applies no dW either (docs/dassdp.md, Findings 4)
            logs = self.plasticity.apply(loss=loss.detach(), per_sample_loss=per_sample.detach(), epoch=epoch)
        return StepResult(float(loss.detach()), stepped, logs)

    def forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward under the precision with the plasticity recording, then the (scaled) backward;
        returns (loss [], per-sample loss [B])."""
        with self.plasticity.record(), autocast(self.device, self.precision):
            out = self.net(x)  # [T, B, K]
            per_sample = per_sample_loss(mean_logits(out), y, self.label_smoothing)  # [B]
            loss = per_sample.mean()  # float32: per_sample_loss casts the logits up
        if not loss_is_finite(loss):
            self.on_nonfinite(float(loss.detach()))
        backward(loss, self.scaler)
        return loss, per_sample

    def _first_compiled_or_eager(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.compile_pending:
            return self.forward_backward(x, y)
        try:  # the first compiled step compiles; a compiler failure falls back to eager here
            out = self.forward_backward(x, y)
        except TrainingError:
            raise
        except Exception as exc:  # compiler error: one line, eager or stop
            self.net = self.wrap(compile_failed(self.model, self.compile_mode, exc))
            self.optimizer.zero_grad(set_to_none=True)
            out = self.forward_backward(x, y)
        self.compile_pending = False
        return out
