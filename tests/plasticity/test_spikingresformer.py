"""build_plasticity on the real SpikingResformer: default layers (paper Fig. 2) and one update,
equal to the spec's slow [B, C_out, C_in] transcription on the layers' own inputs and outputs."""

from __future__ import annotations

import pytest
import torch

from eventsnn.config import PlasticityConfig
from eventsnn.models import create_model, default_plasticity_layers
from eventsnn.plasticity import build_plasticity
from eventsnn.plasticity._reference import direct_delta_w


def test_default_layers_and_one_update_on_spikingresformer():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", num_classes=10, T=2)
    plasticity_cfg = PlasticityConfig(mode="ssdp", warmup=0, warmup_unit="steps")
    plasticity = build_plasticity(model, plasticity_cfg)
    dssa = [n.rsplit(".", 1)[0] for n, _ in model.named_modules() if n.endswith(".Wproj")]
    assert plasticity.layers == tuple(default_plasticity_layers(model))
    assert set(plasticity.layers) == {f"{dssa[-1]}.Wproj", "classifier"}  # the LAST DSSA block
    before = {n: m.weight.detach().clone() for n, m in plasticity.modules.items()}
    seen = {}  # each layer's own input / output, caught by separate hooks

    def keep(name):
        def hook(_module, args, out):
            seen[name] = (args[0].detach().clone(), out.detach().clone())

        return hook

    handles = [plasticity.modules[n].register_forward_hook(keep(n)) for n in plasticity.layers]
    with plasticity.record():
        out = model(torch.rand(2, 3, 32, 32))
    for h in handles:
        h.remove()
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    rec = plasticity.recorder._record.layers
    assert rec["classifier"].post.code.shape == (2, 10) and rec[f"{dssa[-1]}.Wproj"].pre.code.shape == (
        2,
        384,
    )
    logs = plasticity.apply(loss=out.mean().detach(), epoch=0)
    cfg = plasticity_cfg
    for name, module in plasticity.modules.items():
        pre, post = seen[name]  # the slow [B, C_out, C_in] transcription of the spec, gate 1 (ssdp)
        dw = direct_delta_w(
            pre, post, a_plus=cfg.a_plus, a_minus=cfg.a_minus, sigma=cfg.sigma, dtype=torch.float64
        )
        change = (module.weight.detach() - before[name]).double().reshape(dw.shape)
        torch.testing.assert_close(change, dw, rtol=1e-4, atol=1e-7, msg=name)
        assert dw.abs().max() > 0, name  # the update did something
        assert logs[f"{name}/gate_mean"] == 1.0 and logs[f"{name}/dw_abs_max"] == pytest.approx(
            float(dw.abs().max()), rel=1e-4
        )
