"""Forward hooks: layer resolution errors, what is recorded (bool [T, B, C]), when hooks exist."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from eventsnn.config import PlasticityConfig
from eventsnn.errors import ConfigError
from eventsnn.plasticity import build_plasticity
from eventsnn.plasticity.functional import PlasticityInputError

from .nets import TinyNet


def _cfg(layers, **kw):
    return PlasticityConfig(mode="da_ssdp", layers=layers, warmup=1, warmup_unit="steps", **kw)


def test_unknown_and_invalid_layers_are_named():
    model = TinyNet()
    with pytest.raises(ConfigError, match=r"no module named 'haed'.*did you mean 'head'"):
        build_plasticity(model, _cfg(("haed",)))
    with pytest.raises(ConfigError, match=r"'stem' is a Conv2d with kernel \(3, 3\), not 1x1"):
        build_plasticity(model, _cfg(("stem",)))
    model.grouped = nn.Conv2d(8, 8, 1, groups=2)
    model.strided = nn.Conv2d(8, 8, 1, stride=2)
    model.act = nn.ReLU()
    with pytest.raises(ConfigError, match="'grouped'.*groups=2"):
        build_plasticity(model, _cfg(("grouped",)))
    with pytest.raises(ConfigError, match="'strided'.*stride"):
        build_plasticity(model, _cfg(("strided",)))
    valid = "valid layers: proj, head, plain$"
    with pytest.raises(
        ConfigError, match=f"'act' is a ReLU, not a Linear, a 1x1 Conv2d or a DSSA block; {valid}"
    ):
        build_plasticity(model, _cfg(("act",)))
    with pytest.raises(ConfigError, match="listed twice"):
        build_plasticity(model, _cfg(("head", "head")))
    with pytest.raises(ConfigError, match="plasticity.layers"):
        build_plasticity(nn.Sequential(nn.Linear(2, 2)), _cfg(None))  # no model default


def test_records_binary_activity_only_inside_record_and_in_training():
    torch.manual_seed(0)
    model = TinyNet()
    p = build_plasticity(model, _cfg(("proj", "plain", "head")))
    seen = {}

    def keep(name):
        def hook(module, args, out):
            seen[name] = (args[0].detach().clone(), out.detach().clone())

        return hook

    handles = [getattr(model, n).register_forward_hook(keep(n)) for n in ("proj", "plain", "head")]
    x = torch.randn(4, 3, 2, 5, 5)
    with p.record():
        assert len(model.proj._forward_hooks) == 2
        model(x)
    for h in handles:
        h.remove()
    assert all(len(m._forward_hooks) == 0 for m in model.modules())  # removed on exit
    rec = p.recorder.take()
    for name, (xin, xout) in seen.items():
        act = rec.layers[name]
        assert act.pre.code.dtype == torch.uint8 and act.pre.samples == 3 and act.pre.T == 4
        for units, v in ((act.pre, xin), (act.post, xout)):
            s = (v > 0).flatten(3).any(3) if v.dim() == 5 else v > 0  # [T,B,C]
            first = torch.tensor(  # the first spiking step by a loop, T if silent
                [[next((t for t in range(4) if s[t, b, c]), 4) for c in range(s.shape[2])] for b in range(3)]
            )
            assert torch.equal(units.latency, first) and torch.equal(units.active, s.any(0))
    assert rec.layers["proj"].pre.code.shape == (3, 8) and rec.layers["head"].post.code.shape == (3, 3)
    model.eval()
    with p.record():
        model(x)
    assert p.recorder.take().layers == {}


def test_linear_on_tokens_and_single_step_conv():
    lin = nn.Sequential(nn.Linear(4, 5))
    p = build_plasticity(lin, _cfg(("0",)))
    x = torch.randn(2, 3, 7, 4)  # [T,B,N,C]: tokens reduced with any
    with p.record():
        y = lin(x)
    act = p.recorder.take().layers["0"]
    assert torch.equal(act.pre.active, (x > 0).any(2).any(0)) and torch.equal(
        act.post.active, (y > 0).any(2).any(0)
    )
    conv = nn.Sequential(nn.Conv2d(4, 5, 1))
    p = build_plasticity(conv, _cfg(("0",)))
    with pytest.raises(PlasticityInputError, match=r"layer '0'.*\[T, B, C, H, W\]"):
        with p.record():
            conv(torch.randn(6, 4, 3, 3))  # [T*B, C, H, W]: T unknown
