"""`spatial: positions` (spec "Findings" point 2): factorised vs a slow per-position loop, reductions,
errors, and diagnostics against hand-made activity."""

from __future__ import annotations

import logging
import math
import re
import warnings

import pytest
import torch

from eventsnn.config import DASSDPParams, PlasticityConfig, load_config
from eventsnn.errors import ConfigError
from eventsnn.plasticity import DASSDPRule, LayerActivity, build_plasticity, layer_diagnostics
from eventsnn.plasticity._reference import direct_delta_w, direct_positions_delta_w, direct_synchrony
from eventsnn.plasticity.functional import PlasticityInputError, da_ssdp_delta_w, synchrony

from .nets import TinyNet

KW = dict(a_plus=1.5e-3, a_minus=5e-4, sigma=1.0)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


@pytest.mark.parametrize(
    "T,B,c_in,c_out,spatial", [(4, 5, 6, 7, (3, 3)), (3, 4, 5, 4, (2, 4)), (2, 3, 4, 4, (5,))]
)
def test_positions_equals_slow_per_position_loop(T, B, c_in, c_out, spatial):
    g = torch.Generator().manual_seed(T + B)
    pre = (torch.rand(T, B, c_in, *spatial, generator=g) > 0.8).double()
    post = torch.randn(T, B, c_out, *spatial, generator=g, dtype=torch.float64) - 1.0
    pre[:, 0] = 0  # a silent sample
    gate = torch.rand(B, generator=g, dtype=torch.float64) * 2
    for gt in (None, gate):
        fast = da_ssdp_delta_w(pre, post, gate=gt, spatial="positions", dtype=torch.float64, **KW)
        slow = direct_delta_w(pre, post, gate=gt, spatial="positions", dtype=torch.float64, **KW)
        whole = direct_positions_delta_w(pre, post, gate=gt, dtype=torch.float64, **KW)
        assert _rel(fast, slow) < 1e-9 and _rel(whole, slow) < 1e-9
        # and it is not the `any` rule on these inputs
        assert _rel(da_ssdp_delta_w(pre, post, gate=gt, dtype=torch.float64, **KW), slow) > 1e-3
    act = LayerActivity.of(pre, post, spatial="positions")
    assert torch.allclose(synchrony(act.pre, act.post), direct_synchrony(pre, post, "positions"), atol=1e-15)


def test_positions_equals_any_without_spatial_dims():
    g = torch.Generator().manual_seed(1)
    pre = (torch.rand(4, 6, 9, generator=g) > 0.7).float()
    post = (torch.rand(4, 6, 5, generator=g) > 0.7).float()
    gate = torch.rand(6, generator=g)
    for reference in ("paper", "released"):
        a = da_ssdp_delta_w(pre, post, gate=gate, spatial="positions", reference=reference, **KW)
        b = da_ssdp_delta_w(pre, post, gate=gate, spatial="any", reference=reference, **KW)
        assert torch.equal(a, b)


def test_positions_hand_computed_two_positions():
    # one sample, one pre and one post channel, two positions, T = 2.
    # p0: pre fires at 0, post at 1 -> co-active, lag 1: +A+ e^{-1/2};  p1: pre silent, post at 0 ->
    # not co-active, lag |0 - T| = 2: -A- e^{-2}. dW = mean over the two positions.
    pre = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(2, 1, 1, 2)
    post = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).view(2, 1, 1, 2)
    dw = da_ssdp_delta_w(pre, post, spatial="positions", dtype=torch.float64, **KW)
    expected = (1.5e-3 * math.exp(-0.5) - 5e-4 * math.exp(-2.0)) / 2
    assert float(dw) == pytest.approx(expected, rel=1e-12)
    # `any`: both channels active, first spikes 0 and 0 -> +A+
    assert float(da_ssdp_delta_w(pre, post, dtype=torch.float64, **KW)) == pytest.approx(1.5e-3, rel=1e-12)


def test_positions_mismatch_and_unknown_values_are_one_line():
    pre, post = torch.ones(2, 3, 4, 4, 4), torch.ones(2, 3, 5, 2, 2)
    with pytest.raises(PlasticityInputError, match="spatial: positions needs the same positions.*16 and 4"):
        da_ssdp_delta_w(pre, post, spatial="positions", **KW)
    with pytest.raises(PlasticityInputError, match="spatial: 'pixels', expected one of any, positions"):
        da_ssdp_delta_w(pre, post, spatial="pixels", **KW)
    with pytest.raises(ConfigError, match="plasticity.spatial: expected one of 'any', 'positions'"):
        load_config(None, ["plasticity.spatial=pixels"])  # the schema is the only validator
    with pytest.raises(ConfigError, match="plasticity.reference: expected one of 'paper', 'released'"):
        load_config(None, ["plasticity.reference=x"])


def test_stateful_rule_with_positions_on_a_conv():
    torch.manual_seed(0)
    model = TinyNet()
    cfg = PlasticityConfig(mode="ssdp", layers=("proj",), warmup=0, warmup_unit="steps", spatial="positions")
    p = build_plasticity(model, cfg)
    seen = {}
    model.proj.register_forward_hook(lambda m, a, o: seen.update(pre=a[0].detach(), post=o.detach()))
    before = model.proj.weight.detach().clone()
    with p.record():
        model(torch.randn(3, 4, 2, 5, 5))
    assert p.recorder._record.layers["proj"].pre.code.shape == (4 * 25, 8)  # rows = (b, p)
    p.apply(epoch=0)
    expected = direct_delta_w(seen["pre"], seen["post"], spatial="positions", dtype=torch.float64, **KW)
    assert torch.allclose((model.proj.weight - before).view(8, 8).double(), expected, atol=1e-7)  # fp32 W


def test_diagnostics_on_hand_made_activity():
    # 2 samples, T = 3; pre units: [fires at 0, fires at 2, silent]; post: [fires at 1, silent]
    pre = torch.zeros(3, 2, 3)
    pre[0, :, 0] = 1
    pre[2, :, 1] = 1
    post = torch.zeros(3, 2, 2)
    post[1, :, 0] = 1
    act = LayerActivity.of(pre, post)
    dw = da_ssdp_delta_w(pre, post, **KW)
    d = layer_diagnostics(act.pre, act.post, sigma=1.0, delta_w=dw)
    assert float(d["active_pre"]) == pytest.approx(2 / 3) and float(d["active_post"]) == pytest.approx(1 / 2)
    assert float(d["latency_pre"]) == pytest.approx(1.0) and float(d["latency_post"]) == pytest.approx(1.0)
    assert float(d["g_coactive"]) == pytest.approx(math.exp(-0.5))  # pairs (1,0) and (1,2): lag 1 each
    assert float(d["uniform_share"]) == pytest.approx(float(dw.mean().abs() / dw.abs().mean()))
    # saturated flags: a uniform update
    full = LayerActivity.of(torch.ones(3, 2, 3), torch.ones(3, 2, 2))
    dw = da_ssdp_delta_w(torch.ones(3, 2, 3), torch.ones(3, 2, 2), **KW)
    d = layer_diagnostics(full.pre, full.post, sigma=1.0, delta_w=dw)
    assert float(d["uniform_share"]) == pytest.approx(1.0) and float(d["g_coactive"]) == pytest.approx(1.0)
    silent = LayerActivity.of(torch.zeros(3, 2, 3), torch.zeros(3, 2, 2))
    assert math.isnan(float(layer_diagnostics(silent.pre, silent.post, sigma=1.0)["g_coactive"]))


def test_saturation_warning_once_per_layer_and_epoch_means_in_summary(caplog):
    rule_cfg = PlasticityConfig(mode="ssdp", layers=("head",), warmup=0, warmup_unit="steps")
    model = TinyNet()
    p = build_plasticity(model, rule_cfg)
    with torch.no_grad():
        model.head.weight.fill_(1.0)  # every logit > 0 when any input fires
    x = torch.ones(2, 3, 2, 5, 5)
    for epoch in range(2):
        for _ in range(3):
            with p.record():
                model(x)
            p.apply(epoch=epoch)
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="eventsnn.plasticity"):
            warnings.simplefilter("error")  # a logged line, never a UserWarning with a source line
            summary = p.epoch_summary()
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("eventsnn.plasticity")]
        if epoch == 0:
            assert len(lines) == 1 and "\n" not in lines[0]
            assert re.search("'head'.*post flags.*spatial: positions", lines[0])
        else:
            assert lines == []  # warned once already
        assert summary["plasticity/head/active_post"] == 1.0
        assert set(summary) >= {f"plasticity/head/{k}" for k in ("active_pre", "g_coactive", "uniform_share")}


def test_rule_takes_the_parameter_object_whole():
    params = DASSDPParams(a_plus=0.25, a_minus=0.0, warmup=0, warmup_unit="steps", spatial="positions")
    rule = DASSDPRule("c", params, mode="ssdp")
    act = LayerActivity.of(torch.ones(2, 3, 4, 2, 2), torch.ones(2, 3, 5, 2, 2), spatial="positions")
    assert rule.params is params and torch.equal(rule.step(act).delta_w, torch.full((5, 4), 0.25))
