"""build_plasticity on the real SpikingResformer: default layers (paper Fig. 2) and one update."""

from __future__ import annotations

import torch

from eventsnn.config import PlasticityConfig
from eventsnn.models import create_model, default_plasticity_layers
from eventsnn.plasticity import build_plasticity


def test_default_layers_and_one_update_on_spikingresformer():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", num_classes=10, T=2)
    plasticity = build_plasticity(model, PlasticityConfig(mode="ssdp", warmup=0, warmup_unit="steps"))
    dssa = [n.rsplit(".", 1)[0] for n, _ in model.named_modules() if n.endswith(".Wproj")]
    assert plasticity.layers == tuple(default_plasticity_layers(model))
    assert set(plasticity.layers) == {f"{dssa[-1]}.Wproj", "classifier"}  # the LAST DSSA block
    before = {n: m.weight.detach().clone() for n, m in plasticity.modules.items()}
    with plasticity.record():
        out = model(torch.rand(2, 3, 32, 32))
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    rec = plasticity.recorder._record.layers
    assert rec["classifier"].post.code.shape == (2, 10) and rec[f"{dssa[-1]}.Wproj"].pre.code.shape == (
        2,
        384,
    )
    logs = plasticity.apply(loss=out.mean().detach(), epoch=0)
    for name, module in plasticity.modules.items():
        assert not torch.equal(module.weight, before[name]), name
        assert logs[f"{name}/gate_mean"] == 1.0 and 0 < logs[f"{name}/dw_abs_max"] <= 1.5e-3 + 1e-9
