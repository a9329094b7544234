"""The stateful rule and build_plasticity: warm-up, the one-time fit at the boundary, modes, resume."""

from __future__ import annotations

import copy
import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from eventsnn.config import DASSDPParams, PlasticityConfig, load_config
from eventsnn.errors import CheckpointError, ConfigError, TrainingError
from eventsnn.plasticity import DASSDPRule, LayerActivity, NoPlasticity, build_plasticity
from eventsnn.plasticity._reference import direct_delta_w, direct_synchrony
from eventsnn.plasticity.diagnostics import DIAGNOSTIC_KEYS
from eventsnn.plasticity.functional import PlasticityInputError

from .nets import TinyNet, make_batches

LAYERS = ("proj", "head")


def _cfg(**kw) -> PlasticityConfig:
    base = dict(mode="da_ssdp", layers=LAYERS, warmup=2, warmup_unit="steps", a_plus=0.02, a_minus=0.01)
    return PlasticityConfig(**{**base, **kw})


def _forward(model, plasticity, x, y):
    with plasticity.record():
        out = model(x)  # [T,B,K]
    per_sample = F.cross_entropy(out.mean(0), y, reduction="none")
    return out, per_sample


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_warmup_untouched_then_fit_exactly_at_epoch_boundary():
    torch.manual_seed(0)
    model = TinyNet()
    cfg = _cfg(warmup=2, warmup_unit="epochs", loss_granularity="per_sample")
    plasticity = build_plasticity(model, cfg, steps_per_epoch=3)
    w0 = _weights(model)
    S_seen, L_seen = [], []
    seen = {}
    model.head.register_forward_hook(lambda m, a, o: seen.update(pre=a[0].detach(), post=o.detach()))
    batches = make_batches(7)
    for step, (x, y) in enumerate(batches[:6]):  # epochs 0 and 1: warm-up
        _, per_sample = _forward(model, plasticity, x, y)
        S_seen.append(direct_synchrony(seen["pre"], seen["post"]))
        L_seen.append(per_sample.detach().double())
        logs = plasticity.apply(loss=per_sample.mean(), per_sample_loss=per_sample, epoch=step // 3)
        assert logs["head/phase"] == 0.0 and "head/gate_mean" not in logs
        for k, v in _weights(model).items():
            assert torch.equal(v, w0[k]), k  # no weight change during warm-up
    rule = plasticity.rules["head"]
    assert int(rule.phase) == 0 and float(rule.n) == 36 and float(rule.k) == 0.0  # not fitted yet
    x, y = batches[6]
    _, per_sample = _forward(model, plasticity, x, y)
    pre, post = seen["pre"], seen["post"]  # the head's input and output of this batch
    logs = plasticity.apply(
        loss=per_sample.mean(), per_sample_loss=per_sample, epoch=2
    )  # first step of epoch 2
    S, L = torch.cat(S_seen).numpy(), torch.cat(L_seen).numpy()
    mu, sd = S.mean(), S.std() + 1e-8
    k = -np.mean(((S - mu) / sd) * ((L - L.mean()) / (L.std() + 1e-8)))
    assert int(rule.phase) == 1
    assert (
        abs(float(rule.k) - k) < 1e-9
        and abs(float(rule.mu_S) - mu) < 1e-12
        and abs(float(rule.sd_S) - sd) < 1e-12
    )
    assert logs["head/k"] == pytest.approx(k, abs=1e-9)
    # the update used the gate fitted from the 6 warm-up batches only
    gate = (1 + k * (direct_synchrony(pre, post).numpy() - mu) / sd).clip(0, 2)
    expected = direct_delta_w(pre, post, a_plus=0.02, a_minus=0.01, sigma=1.0, gate=torch.tensor(gate))
    dw = model.head.weight.detach() - w0["head.weight"]
    assert torch.allclose(dw, expected.float(), atol=1e-7)
    assert logs["head/gate_mean"] == pytest.approx(gate.mean(), abs=1e-6)
    assert logs["head/dw_abs_max"] == pytest.approx(float(expected.abs().max()), abs=1e-7)
    conv_dw = model.proj.weight.detach() - w0["proj.weight"]
    assert conv_dw.shape == (8, 8, 1, 1) and conv_dw.abs().max() > 0
    expected_keys = {
        "phase",
        "S_mean",
        "S_std",
        "k",
        "mu_S",
        "sd_S",
        "warmup_n",
        "gate_mean",
        "gate_min",
        "gate_max",
        "dw_abs_mean",
        "dw_abs_max",
        *DIAGNOSTIC_KEYS,
    }
    assert {key.split("/", 1)[1] for key in logs} == expected_keys
    assert all(isinstance(v, float) for v in logs.values())


def test_steps_boundary_silent_warmup_and_ssdp():
    params = DASSDPParams(warmup=3, warmup_unit="steps", a_plus=0.01, a_minus=0.0)
    rule = DASSDPRule("fc", params, mode="da_ssdp")
    silent = LayerActivity.of(torch.zeros(4, 5, 3, dtype=torch.bool), torch.zeros(4, 5, 2, dtype=torch.bool))
    for i in range(3):
        out = rule.step(silent, loss=torch.tensor(float(i)))
        assert out.warmup and out.delta_w is None
    active = LayerActivity.of(torch.ones(4, 5, 3, dtype=torch.bool), torch.ones(4, 5, 2, dtype=torch.bool))
    out = rule.step(active, loss=torch.tensor(1.0))  # step index 3 = warmup: fit, then update
    assert not out.warmup and int(rule.phase) == 1
    assert float(rule.k) == 0.0 and float(rule.mu_S) == 0.0  # silent warm-up: S = 0 throughout -> k = 0
    assert torch.equal(out.gate, torch.ones(5, dtype=torch.float64))
    assert torch.allclose(out.delta_w, torch.full((2, 3), 0.01))
    ssdp = DASSDPRule("fc", replace(params, warmup=1), mode="ssdp")
    assert ssdp.step(active, loss=None).delta_w is None  # warm-up: no change, no statistics needed
    out = ssdp.step(active)
    assert out.gate is None and torch.allclose(out.delta_w, torch.full((2, 3), 0.01)) and float(ssdp.n) == 0


def test_first_spike_through_the_rule():
    params = DASSDPParams(warmup=0, warmup_unit="steps", a_plus=1.0, a_minus=0.0, sigma=1.0)
    rule = DASSDPRule("fc", params, mode="ssdp")
    pre = torch.tensor([0, 1, 0, 1, 1, 0], dtype=torch.bool).view(6, 1, 1)
    post = torch.tensor([0, 0, 0, 1, 0, 0], dtype=torch.bool).view(6, 1, 1)
    dw = rule.step(LayerActivity.of(pre, post)).delta_w
    assert float(dw) == pytest.approx(math.exp(-2.0))  # first pre spike at 1; the last (4) gives e^-0.5
    other = LayerActivity.of(pre[:5], post[:5])
    with pytest.raises(PlasticityInputError, match="'fc'.*share T, B and positions"):
        rule.step(LayerActivity(LayerActivity.of(pre, post).pre, other.post))


def _run(steps, batches, *, resume_at=None, cfg=None):
    """Train TinyNet with SGD + DA-SSDP; optionally save everything at `resume_at` and rebuild from it."""
    cfg = cfg or _cfg(warmup=3, warmup_unit="steps")
    torch.manual_seed(0)
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    plasticity = build_plasticity(model, cfg, steps_per_epoch=4)
    for step in range(steps):
        if step == resume_at:
            buf = io.BytesIO()
            torch.save({"m": model.state_dict(), "o": opt.state_dict(), "p": plasticity.state_dict()}, buf)
            buf.seek(0)
            ckpt = torch.load(buf, weights_only=True)
            torch.manual_seed(123)
            model = TinyNet()
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            plasticity = build_plasticity(model, cfg, steps_per_epoch=4)
            model.load_state_dict(ckpt["m"])
            opt.load_state_dict(ckpt["o"])
            plasticity.load_state_dict(ckpt["p"])
        x, y = batches[step]
        _, per_sample = _forward(model, plasticity, x, y)
        loss = per_sample.mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        plasticity.apply(loss=loss.detach(), per_sample_loss=per_sample.detach(), epoch=step // 4)
    return model, plasticity


@pytest.mark.parametrize("unit", ["steps", "epochs"])
def test_resume_inside_and_after_warmup_is_exact(unit):
    cfg = _cfg(warmup=3 if unit == "steps" else 1, warmup_unit=unit)
    batches = make_batches(7)
    ref_model, ref_p = _run(7, batches, cfg=cfg)
    assert int(ref_p.rules["head"].phase) == 1
    for stop in (2, 5):  # inside the warm-up, after the fit
        model, p = _run(7, batches, resume_at=stop, cfg=cfg)
        for k, v in ref_model.state_dict().items():
            assert torch.equal(v, model.state_dict()[k]), (stop, k)
        ref_sd, sd = ref_p.state_dict(), p.state_dict()
        assert ref_sd.keys() == sd.keys()
        for k in ref_sd:
            assert torch.equal(ref_sd[k], sd[k]), (stop, k)


def test_state_dict_mismatch_and_apply_without_record():
    model = TinyNet()
    p = build_plasticity(model, _cfg())
    with pytest.raises(TrainingError, match="no recorded batch"):
        p.apply(loss=torch.tensor(1.0))
    model.eval()
    with p.record():
        model(torch.randn(2, 3, 2, 4, 4))
    with pytest.raises(TrainingError, match="no recorded batch"):  # eval mode records nothing
        p.apply(loss=torch.tensor(1.0))
    other = build_plasticity(model, _cfg(layers=("head",)))
    with pytest.raises(CheckpointError, match="layers"):
        other.load_state_dict(p.state_dict())
    with pytest.raises(CheckpointError, match="mode"):
        build_plasticity(model, _cfg(mode="ssdp")).load_state_dict(p.state_dict())
    model.train()
    q = build_plasticity(model, _cfg(loss_granularity="per_sample"))
    with q.record():
        model(torch.randn(2, 3, 2, 4, 4))
    with pytest.raises(PlasticityInputError, match="per_sample_loss"):
        q.apply(loss=torch.tensor(1.0))


def test_bad_config_values_name_the_key():
    """The config schema is the rule's only validator: every bad value is refused at load."""
    for item, key in [
        ("plasticity.sigma=0.0", "plasticity.sigma"),
        ("plasticity.warmup=-1", "plasticity.warmup"),
        ("plasticity.dw_clip=0.0", "plasticity.dw_clip"),
        ("plasticity.gate_min=3.0", "plasticity.gate_min"),
        ("plasticity.mode=stdp", "plasticity.mode"),
    ]:
        with pytest.raises(ConfigError, match=key):
            load_config(None, [item])


def test_off_is_a_noop_without_hooks():
    model = TinyNet()
    before = copy.deepcopy(model.state_dict())
    p = build_plasticity(model, PlasticityConfig(mode="off", layers=("no_such_layer",)))
    assert isinstance(p, NoPlasticity)
    with p.record():
        assert sum(len(m._forward_hooks) for m in model.modules()) == 0
        model(torch.randn(2, 3, 2, 4, 4))
    assert p.apply(loss=torch.tensor(1.0), epoch=0) == {} and p.state_dict() == {}
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_rules_are_chosen_once_by_name_from_one_table():
    """`plasticity.mode` names a registered rule; the schema's modes are exactly off + the table,
    and a rule's state refuses to load into another rule (its code travels with the state)."""
    from typing import get_args, get_type_hints

    from eventsnn.plasticity import RULES, get_rule

    modes = get_args(get_type_hints(PlasticityConfig)["mode"])
    assert RULES.names() == ["da_ssdp", "ssdp"]
    assert get_rule("da_ssdp").gated and not get_rule("ssdp").gated
    assert set(RULES.names()) | {"off"} == set(modes)
    with pytest.raises(PlasticityInputError, match="mode must be one of da_ssdp, ssdp"):
        DASSDPRule("fc", DASSDPParams(), mode="stdp")
    assert isinstance(PlasticityInputError("x"), ValueError)  # an ArgumentError
