"""Spiking neurons from spikingjelly 2 in multi-step mode (`[T, ...]` in, spikes out).

LIF (SpikingResformer): tau = 2, decay_input, V_th = 1, hard reset to 0, ATan surrogate,
detached reset:  H[t] = V[t-1] + (X[t] - V[t-1]) / tau,  S[t] = Theta(H[t] - V_th),
V[t] = H[t] (1 - S[t]). PLIF learns 1/tau (initialised at tau = 2). spikingjelly picks its
own backend (there is no `backend='cupy'` argument in 2.x), so the same code runs on CPU
and GPU.
"""

from __future__ import annotations

from typing import Literal

from spikingjelly.activation_based import neuron, surrogate
from torch import nn

Activation = Literal["lif", "plif"]


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
        return neuron.LIFNode(tau=2.0, **common)
    if kind == "plif":
        return neuron.ParametricLIFNode(init_tau=2.0, **common)
    raise ValueError(f"activation must be 'lif' or 'plif', got {kind!r}")


def spiking_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """THE list of a model's spiking layers: `(name, module)` of every spikingjelly neuron node
    (`BaseNode`: LIF, PLIF, ...), in registration (forward) order. Wrappers (DDP, compiled) list
    their inner names with the wrapper's prefix, as `named_modules` does."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)]


def spiking_layers(model: nn.Module) -> list[str]:
    """Names of `spiking_modules(model)`."""
    return [name for name, _ in spiking_modules(model)]
