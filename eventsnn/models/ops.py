"""Operation counting: MACs, synaptic operations (SOPs) and the energy estimate.

For every convolution, linear layer and spike matmul of one forward pass (per sample, all
T steps): MACs = output elements x fan-in. A layer whose input is binary (spikes) does
accumulates only where a spike arrives: SOPs = MACs x firing rate of that input; a layer
fed real values (the first conv on analog input, the classifier on pooled features) costs
MACs. Energy (SpikingResformer / DA-SSDP papers, 45 nm): E = 4.6 pJ x MACs + 0.9 pJ x SOPs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from eventsnn.models.layers import SpikingMatmul

E_MAC_PJ = 4.6
E_SOP_PJ = 0.9


@dataclass
class LayerOps:
    name: str
    kind: str
    macs: float  # dense multiply-accumulates per sample
    input_rate: float | None  # firing rate of the spike input; None: analog input
    sops: float  # synaptic operations per sample (0 for analog input)

    @property
    def energy_pj(self) -> float:
        return E_SOP_PJ * self.sops if self.input_rate is not None else E_MAC_PJ * self.macs


@dataclass
class OpsReport:
    layers: list[LayerOps] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, float]:
        mac_energy = sum(r.macs for r in self.layers if r.input_rate is None)
        sops = sum(r.sops for r in self.layers)
        energy_pj = sum(r.energy_pj for r in self.layers)
        return {
            "macs": float(sum(r.macs for r in self.layers)),
            "analog_macs": float(mac_energy),
            "sops": float(sops),
            "energy_mj": energy_pj * 1e-9,
        }

    def to_dict(self) -> dict:
        return {
            "layers": [{**asdict(r), "energy_pj": r.energy_pj} for r in self.layers],
            "totals": self.totals,
            "constants": {"e_mac_pj": E_MAC_PJ, "e_sop_pj": E_SOP_PJ},
        }


def _is_binary(x: torch.Tensor) -> bool:
    return bool(torch.all((x == 0) | (x == 1)))


def _fan_in(module: nn.Module) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return module.in_channels // module.groups * kh * kw
    assert isinstance(module, nn.Linear)
    return module.in_features


@torch.no_grad()
def count_operations(model: nn.Module, sample: torch.Tensor) -> OpsReport:
    """Run `model(sample)` once (eval mode) and count per-layer MACs and SOPs per sample."""
    batch = sample.shape[0]
    report = OpsReport()
    handles = []

    def add(name: str, kind: str, macs: float, spike_input: torch.Tensor | None) -> None:
        rate = float(spike_input.float().mean()) if spike_input is not None else None
        sops = macs * rate if rate is not None else 0.0
        report.layers.append(LayerOps(name, kind, macs / batch, rate, sops / batch))

    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):

            def hook(m, inputs, out, name=name):
                x = inputs[0]
                add(name, type(m).__name__, float(out.numel()) * _fan_in(m), x if _is_binary(x) else None)

            handles.append(module.register_forward_hook(hook))
        elif isinstance(module, SpikingMatmul):

            def mm_hook(m, inputs, out, name=name):
                left, right = inputs
                spikes = right if m.spike == "r" else left
                add(
                    name,
                    "matmul",
                    float(out.numel()) * left.shape[-1],
                    spikes if _is_binary(spikes) else None,
                )

            handles.append(module.register_forward_hook(mm_hook))
    was_training = model.training
    model.eval()
    try:
        model(sample)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return report
