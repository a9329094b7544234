"""The rule as a pure step (`rule_step`: activity, state, params -> (what it did, new state)):
against the authors' released rule lines, against the slow paper reference with a gate fitted
by hand, never changing the state it is given, and what `DASSDPRule` (the orchestrator's
per-layer state holder) does with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eventsnn.config import DASSDPParams
from eventsnn.plasticity import DASSDPRule, LayerActivity, get_rule
from eventsnn.plasticity._reference import direct_delta_w, direct_synchrony
from eventsnn.plasticity.step import UPDATE, WARMUP, RuleState, rule_step

FIXTURE = torch.load(Path(__file__).with_name("fixtures") / "released_rule.pt", weights_only=True)
HOOKS = {"cls": ("x", "logits"), "wproj": ("x_in", "x_out")}


@pytest.mark.parametrize("hook", ["cls", "wproj"])
def test_pure_step_equals_the_authors_lines(hook):
    f = FIXTURE
    params = DASSDPParams(a_plus=f["a_plus"], a_minus=f["a_minus"], sigma=f["sigma"], warmup=f["warmup_epochs"],
                          reference="released")  # fmt: skip
    a, b = HOOKS[hook]
    state, updates = RuleState.initial(), 0
    for step in f["steps"]:
        act = LayerActivity.of(step[a], step[b], reference="released")
        out, state = rule_step(act.pre, act.post, state, params, rule=get_rule("da_ssdp"), loss=step["loss"],
                               epoch=step["epoch"])  # fmt: skip
        assert torch.allclose(out.synchrony.float(), step[f"{hook}_S"], rtol=0, atol=1e-7)
        if f"{hook}_gate" not in step:
            assert out.delta_w is None and state.phase == WARMUP
            continue
        k, mu, sd = state.fit.tolist()
        assert state.phase == UPDATE
        assert k == pytest.approx(float(step[f"{hook}_k"]), abs=2e-6)
        assert mu == pytest.approx(float(step[f"{hook}_mu_S"]), abs=1e-7)
        assert sd == pytest.approx(float(step[f"{hook}_sd_S"]), abs=1e-7)
        assert torch.allclose(out.gate.float(), step[f"{hook}_gate"], rtol=0, atol=2e-6)
        assert torch.allclose(out.delta_w, step[f"{hook}_dw"], rtol=1e-5, atol=1e-9)
        updates += 1
    assert updates == 4 and state.steps == len(f["steps"]) and state.epoch == f["steps"][-1]["epoch"]


def _batches(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        pre = (torch.rand(4, 6, 5, generator=g) < 0.3).double()  # [T, B, C_in]
        post = (torch.rand(4, 6, 3, generator=g) < 0.4).double()  # [T, B, C_out]
        out.append((pre, post, torch.rand(6, generator=g, dtype=torch.float64)))
    return out


def test_pure_step_keeps_its_input_state_and_fits_the_gate_by_hand():
    params = DASSDPParams(warmup=3, warmup_unit="steps", a_plus=0.02, a_minus=0.01, loss_granularity="per_sample")
    batches = _batches(5)
    state = RuleState.initial()
    S_seen, L_seen = [], []
    for i, (pre, post, L) in enumerate(batches):
        act = LayerActivity.of(pre, post)
        frozen = RuleState(state.phase, state.steps, state.epoch, state.sums.clone(), state.fit.clone())
        out, new = rule_step(act.pre, act.post, state, params, rule=get_rule("da_ssdp"), per_sample_loss=L,
                             dtype=torch.float64)  # fmt: skip
        # pure: the state it was given is as it was
        assert (state.phase, state.steps) == (frozen.phase, frozen.steps)
        assert torch.equal(state.sums, frozen.sums) and torch.equal(state.fit, frozen.fit)
        if i < 3:
            assert out.delta_w is None and new.phase == WARMUP
            S_seen.append(direct_synchrony(pre, post).numpy())
            L_seen.append(L.numpy())
        else:  # the fit by hand from the three warm-up batches (population std + 1e-8)
            S, Ls = np.concatenate(S_seen), np.concatenate(L_seen)
            mu, sd = S.mean(), S.std() + 1e-8
            k = -np.mean(((S - mu) / sd) * ((Ls - Ls.mean()) / (Ls.std() + 1e-8)))
            assert np.allclose(new.fit.numpy(), [k, mu, sd], rtol=0, atol=1e-9)
            gate = np.clip(1 + k * (direct_synchrony(pre, post).numpy() - mu) / sd, 0, 2)
            want = direct_delta_w(pre, post, a_plus=0.02, a_minus=0.01, sigma=1.0, gate=torch.tensor(gate),
                                  dtype=torch.float64)  # fmt: skip
            assert torch.allclose(out.gate, torch.tensor(gate), rtol=0, atol=1e-12)
            assert torch.allclose(out.delta_w, want, rtol=1e-9, atol=1e-15)
        state = new
    assert state.steps == 5 and float(state.sums[0]) == 18  # n: 3 warm-up batches of 6 samples


def test_ssdp_keeps_the_neutral_fit_and_no_gate():
    params = DASSDPParams(warmup=1, warmup_unit="steps", a_plus=0.02, a_minus=0.01)
    state = RuleState.initial()
    for pre, post, _ in _batches(2, seed=1):
        act = LayerActivity.of(pre, post)
        out, state = rule_step(act.pre, act.post, state, params, rule=get_rule("ssdp"), dtype=torch.float64)
    assert out.gate is None and state.fit.tolist() == [0.0, 0.0, 1.0] and not state.sums.any()
    want = direct_delta_w(pre, post, a_plus=0.02, a_minus=0.01, sigma=1.0, dtype=torch.float64)
    assert torch.allclose(out.delta_w, want, rtol=1e-9, atol=1e-15)


def test_the_layer_rule_holds_the_state_the_pure_step_returns():
    params = DASSDPParams(warmup=2, warmup_unit="steps", a_plus=0.02, a_minus=0.01, loss_granularity="per_sample")
    module = DASSDPRule("fc", params, mode="da_ssdp", compute_dtype=torch.float64)
    state = RuleState.initial()
    for pre, post, L in _batches(4, seed=2):
        act = LayerActivity.of(pre, post)
        got = module.step(act, per_sample_loss=L, epoch=1)
        want, state = rule_step(act.pre, act.post, state, params, rule=get_rule("da_ssdp"), per_sample_loss=L,
                                epoch=1, dtype=torch.float64)  # fmt: skip
        assert (got.delta_w is None) == (want.delta_w is None)
        if want.delta_w is not None:
            assert torch.equal(got.delta_w, want.delta_w) and torch.equal(got.gate, want.gate)
        buffers = module.state_dict()
        assert int(buffers["phase"]) == state.phase and int(buffers["step_count"]) == state.steps
        assert int(buffers["epoch"]) == 1
        assert torch.equal(torch.stack([buffers[k] for k in ("k", "mu_S", "sd_S")]), state.fit)


def test_loading_another_state_replaces_the_one_the_layer_rule_holds():
    params = DASSDPParams(warmup=2, warmup_unit="steps", a_plus=0.02, a_minus=0.01, loss_granularity="per_sample")
    batches = [(LayerActivity.of(pre, post), L) for pre, post, L in _batches(5, seed=3)]
    a, b = (DASSDPRule("fc", params, compute_dtype=torch.float64) for _ in range(2))
    for act, L in batches[:3]:
        a.step(act, per_sample_loss=L)
    b.step(*batches[4][:1], per_sample_loss=batches[4][1])  # b holds a state of its own
    b.load_state_dict(a.state_dict())
    act, L = batches[3]
    want, got = a.step(act, per_sample_loss=L), b.step(act, per_sample_loss=L)
    assert torch.equal(got.delta_w, want.delta_w) and torch.equal(got.gate, want.gate)
