"""Wrapped models (DataParallel, torch.compile): the hooks go on the user's layers inside."""

from __future__ import annotations

import torch
from torch import nn

from eventsnn.config import PlasticityConfig
from eventsnn.plasticity import build_plasticity
from eventsnn.plasticity.hooks import unwrap_model

from .nets import TinyNet

CFG = PlasticityConfig(mode="da_ssdp", layers=("proj", "head"), warmup=1, warmup_unit="steps")


def _recorded(p, run) -> dict[str, torch.Tensor]:
    with p.record():
        run()
    rec = p.recorder.take()
    return {name: torch.cat([act.pre.code, act.post.code], 1) for name, act in rec.layers.items()}


def test_dataparallel_and_compiled_models_hook_the_inner_layers():
    torch.manual_seed(0)
    model = TinyNet()
    x = torch.randn(4, 3, 2, 5, 5)
    plain = _recorded(build_plasticity(model, CFG), lambda: model(x))
    assert set(plain) == {"proj", "head"}
    parallel, compiled = nn.DataParallel(model), torch.compile(model)  # compiled lazily: never run here
    assert unwrap_model(parallel) is model and unwrap_model(compiled) is model
    assert unwrap_model(nn.DataParallel(compiled)) is model
    via_wrapper = _recorded(build_plasticity(parallel, CFG), lambda: parallel(x))
    assert set(via_wrapper) == {"proj", "head"}  # not "module.proj"
    assert all(torch.equal(via_wrapper[k], plain[k]) for k in plain)  # the same activity
    p = build_plasticity(compiled, CFG)
    with p.record():
        assert len(model.proj._forward_hooks) == 1 and len(model.head._forward_hooks) == 1
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
