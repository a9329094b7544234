"""`reference: released` against vectors from the authors' own rule lines (fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from eventsnn.config import DASSDPParams, PlasticityConfig
from eventsnn.errors import ConfigError
from eventsnn.models import create_model
from eventsnn.plasticity import DASSDPRule, LayerActivity, build_plasticity
from eventsnn.plasticity.functional import PlasticityInputError, da_ssdp_delta_w

FIXTURE = torch.load(Path(__file__).with_name("fixtures") / "released_rule.pt", weights_only=True)
HOOKS = {"cls": ("x", "logits"), "wproj": ("x_in", "x_out")}


def _params() -> DASSDPParams:
    f = FIXTURE
    return DASSDPParams(
        a_plus=f["a_plus"],
        a_minus=f["a_minus"],
        sigma=f["sigma"],
        warmup=f["warmup_epochs"],
        reference="released",
    )


@pytest.mark.parametrize("hook", ["cls", "wproj"])
def test_rule_equals_the_authors_lines_over_warmup_and_updates(hook):
    rule = DASSDPRule(hook, _params(), mode="da_ssdp")
    a, b = HOOKS[hook]
    fitted = updated = 0
    for step in FIXTURE["steps"]:
        act = LayerActivity.of(step[a], step[b], reference="released")
        # flags and latencies, as their code computes them
        assert torch.equal(act.pre.active.float(), step[f"{hook}_pre"])
        assert torch.equal(act.post.active.float(), step[f"{hook}_post"])
        assert torch.equal(act.pre.latency.float(), step[f"{hook}_t_pre"])
        assert torch.equal(act.post.latency.float(), step[f"{hook}_t_post"])
        out = rule.step(act, loss=step["loss"], epoch=step["epoch"])
        assert torch.allclose(out.synchrony.float(), step[f"{hook}_S"], rtol=0, atol=1e-7)
        if f"{hook}_gate" not in step:
            assert out.delta_w is None and not step[f"{hook}_dw"].any()
            continue
        fitted += 1
        assert float(rule.k) == pytest.approx(float(step[f"{hook}_k"]), abs=2e-6)
        assert float(rule.mu_S) == pytest.approx(float(step[f"{hook}_mu_S"]), abs=1e-7)
        assert float(rule.sd_S) == pytest.approx(float(step[f"{hook}_sd_S"]), abs=1e-7)
        assert torch.allclose(out.gate.float(), step[f"{hook}_gate"], rtol=0, atol=2e-6)
        ref = step[f"{hook}_dw"]
        assert torch.allclose(out.delta_w, ref, rtol=1e-5, atol=1e-9)
        updated += int(ref.abs().max() > 0)
        if not step[f"{hook}_S"].any():  # the step where every S_b is 0: pure depression
            assert bool((out.delta_w < 0).all())
    assert fitted == 4 and updated == 4


def test_pure_function_released_and_flag_definitions_differ_from_paper():
    step = FIXTURE["steps"][0]
    kw = dict(a_plus=1.5e-3, a_minus=5e-4, sigma=1.0)
    ref_act = LayerActivity.of(step["x"], step["logits"], reference="released")
    paper = LayerActivity.of(step["x"], step["logits"])
    # a unit that spikes but has time-mean 0 is active for the paper, inactive for the released code
    assert bool(paper.pre.active[0, 0]) and not bool(ref_act.pre.active[0, 0])
    assert int(paper.pre.latency[0, 0]) == 0 and int(ref_act.pre.latency[0, 0]) == 2  # first vs last spike
    dw = da_ssdp_delta_w(step["x"], step["logits"], reference="released", **kw)
    assert not torch.allclose(dw, da_ssdp_delta_w(step["x"], step["logits"], **kw))
    with pytest.raises(PlasticityInputError, match="reference: 'authors', expected one of paper, released"):
        da_ssdp_delta_w(step["x"], step["logits"], reference="authors", **kw)


def test_released_hooks_the_first_dssa_of_the_last_stage_and_updates_its_wproj():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", num_classes=10, T=2)
    cfg = PlasticityConfig(mode="ssdp", warmup=0, warmup_unit="steps", reference="released")
    plasticity = build_plasticity(model, cfg)
    last = len(model.layers) - 1
    first_dssa = next(f"layers.{last}.{i}" for i, m in enumerate(model.layers[last]) if hasattr(m, "Wproj"))
    assert plasticity.layers == (first_dssa, "classifier")
    block = model.get_submodule(first_dssa)
    seen = {}
    block.register_forward_hook(lambda m, a, o: seen.update(x_in=a[0].detach(), x_out=o.detach()))
    before = block.Wproj.weight.detach().clone()
    with plasticity.record():
        out = model(torch.rand(3, 3, 32, 32))
    act = plasticity.recorder.take()
    expected = LayerActivity.of(seen["x_in"], seen["x_out"], reference="released")
    assert seen["x_in"].shape == (2, 3, 384, 8, 8)  # the block's analog input, all positions
    assert torch.equal(act.layers[first_dssa].pre.code, expected.pre.code)
    assert torch.equal(act.layers[first_dssa].post.code, expected.post.code)
    plasticity.recorder._record = act
    plasticity.apply(loss=out.mean().detach(), epoch=0)
    dw = da_ssdp_delta_w(
        seen["x_in"], seen["x_out"], reference="released", a_plus=1.5e-3, a_minus=5e-4, sigma=1.0
    )
    assert torch.allclose(block.Wproj.weight - before, dw.view(384, 384, 1, 1), atol=1e-9)


def test_released_on_a_model_without_dssa_is_one_clear_line():
    net = torch.nn.Sequential(torch.nn.Linear(3, 3))
    with pytest.raises(ConfigError, match=r"reference: released needs a last stage with a DSSA block"):
        build_plasticity(net, PlasticityConfig(mode="ssdp", reference="released"))
