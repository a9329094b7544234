"""Mixed precision in training (`train.precision`): GradScaler and the scaled backward / step.

What a precision means on a device, and its autocast, live in `eventsnn.devices` (shared
with inference); this module holds the training side. Compilation (`train.compile`) is
`eventsnn.engine.compilation`'s.

precision   CPU                      CUDA
fp32        plain float32            plain float32
bf16        autocast(cpu, bf16)      autocast(cuda, bf16)
fp16        autocast(cpu, fp16) +    autocast(cuda, fp16) + GradScaler
            GradScaler
auto        fp32 (AUTO_CPU_BF16)     fp16 + GradScaler (AUTO_CUDA, the released training's AMP)

Autocast runs matmuls / convolutions in the low precision; the spiking neurons cast their
input back to float32 (`eventsnn.models.neurons`), so the LIF membrane state and its
threshold test stay in float32, and the loss is computed on float32 logits
(`models.readout.per_sample_loss`). A GradScaler step that found infinite gradients is skipped
by the optimizer; `optimizer_step` reports it so the engine skips DA-SSDP's dW too.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from eventsnn.devices import (  # re-exported: the engine's precision names in one place
    AUTO_CPU_BF16,
    AUTO_CUDA,
    DTYPES,
    PRECISIONS,
    autocast,
    cpu_has_native_bf16,
    resolve_precision,
)

__all__ = [
    "AUTO_CPU_BF16",
    "AUTO_CUDA",
    "DTYPES",
    "PRECISIONS",
    "autocast",
    "backward",
    "cpu_has_native_bf16",
    "make_grad_scaler",
    "optimizer_step",
    "resolve_precision",
]

Precision = Literal["fp32", "bf16", "fp16", "auto"]


def make_grad_scaler(device: torch.device | str, precision: str) -> torch.amp.GradScaler | None:
    """A GradScaler for fp16 (bf16 has float32's exponent range and needs none), else None."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(torch.device(device).type)


def backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> None:
    """`loss.backward()`, through the GradScaler's scale when there is one."""
    (scaler.scale(loss) if scaler is not None else loss).backward()


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    parameters,
    grad_clip: float | None = None,
) -> bool:
    """(Unscale, clip,) step after `backward`; False when the GradScaler skipped the step.

    The scaler skips a step whose gradients hold inf/NaN and then lowers its scale
    (backoff factor < 1), so a lower scale after `update()` is exactly a skipped step.
    """
    if scaler is None:
        if grad_clip:
            nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()
        return True
    if grad_clip:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(parameters, grad_clip)
    before = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    return not scaler.get_scale() < before
