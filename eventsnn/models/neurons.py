"""Spiking neurons from spikingjelly 2 in multi-step mode (`[T, ...]` in, spikes out).

LIF (SpikingResformer): tau = 2, decay_input, V_th = 1, hard reset to 0, ATan surrogate,
detached reset:  H[t] = V[t-1] + (X[t] - V[t-1]) / tau,  S[t] = Theta(H[t] - V_th),
V[t] = H[t] (1 - S[t]). PLIF learns 1/tau (initialised at tau = 2). spikingjelly picks its
own backend (there is no `backend='cupy'` argument in 2.x), so the same code runs on CPU
and GPU. Under autocast (`train.precision` bf16 / fp16) the input current arrives in the low
precision; the nodes cast it to float32, so the membrane state and the threshold test run in
float32 (spikes are exactly 0 / 1 in any dtype; the next layer casts them back down).
"""

from __future__ import annotations

from typing import Literal

import torch
from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from eventsnn.errors import ArgumentError

Activation = Literal["lif", "plif"]


def _fp32(x: torch.Tensor) -> torch.Tensor:
    """Low-precision floating input (autocast) -> float32; anything else unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class LIFNode(neuron.LIFNode):
    """spikingjelly's LIF with a float32 membrane under autocast."""

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        return super().multi_step_forward(_fp32(x_seq), *args, **kwargs)


class ParametricLIFNode(neuron.ParametricLIFNode):
    """spikingjelly's PLIF with a float32 membrane under autocast."""

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        return super().multi_step_forward(_fp32(x_seq), *args, **kwargs)


def make_neuron(kind: Activation = "lif") -> nn.Module:
    """A fresh multi-step LIF or PLIF node with the SpikingResformer settings."""
    common = dict(
        decay_input=True,
        v_threshold=1.0,
        v_reset=0.0,
        surrogate_function=surrogate.ATan(),
        detach_reset=True,
        step_mode="m",
        store_v_seq=False,
    )
    if kind == "lif":
        return LIFNode(tau=2.0, **common)
    if kind == "plif":
        return ParametricLIFNode(init_tau=2.0, **common)
    raise ArgumentError(f"activation must be 'lif' or 'plif', got {kind!r}")


def spiking_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """THE list of a model's spiking layers: `(name, module)` of every spikingjelly neuron node
    (`BaseNode`: LIF, PLIF, ...), in registration (forward) order. Wrappers (DDP, compiled) list
    their inner names with the wrapper's prefix, as `named_modules` does."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)]


def spiking_layers(model: nn.Module) -> list[str]:
    """Names of `spiking_modules(model)`."""
    return [name for name, _ in spiking_modules(model)]
