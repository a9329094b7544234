"""Pure DA-SSDP maths: factorised update vs the direct [B, C_out, C_in] transcription, hand values, fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eventsnn.plasticity import da_ssdp_delta_w, fit_gate_from_sums, gate_from_fit
from eventsnn.plasticity._reference import direct_delta_w, direct_synchrony
from eventsnn.plasticity.functional import (
    PlasticityInputError,
    latencies,
    synchrony_from_latency,
    warmup_sums,
)
from eventsnn.spikes import batch_synchrony

KW = dict(a_plus=1.5e-3, a_minus=5e-4, sigma=1.0)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


@pytest.mark.parametrize(
    "T,B,c_in,c_out,spatial,sigma",
    [(4, 9, 7, 5, (), 1.0), (1, 5, 6, 4, (), 0.7), (3, 6, 5, 8, (3, 2), 2.0), (6, 3, 4, 3, (4,), 0.5)],
)
def test_factorised_equals_direct_float64(T, B, c_in, c_out, spatial, sigma):
    g = torch.Generator().manual_seed(T * 100 + B)
    pre = (torch.rand(T, B, c_in, *spatial, generator=g) > 0.85).to(torch.float64)
    post = torch.randn(T, B, c_out, *spatial, generator=g, dtype=torch.float64) - 1.2  # real values
    pre[:, 0, :2] = 0  # silent pre neurons
    post[:, 1, 0] = -1.0  # a silent post neuron
    post[:, 2] = -1.0  # a sample whose post layer is silent
    gate = torch.rand(B, generator=g, dtype=torch.float64) * 2
    gate[0], gate[-1] = 0.0, 2.0
    kw = dict(a_plus=1.5e-3, a_minus=5e-4, sigma=sigma)
    for gt in (None, gate, torch.zeros(B, dtype=torch.float64), torch.full((B,), 2.0, dtype=torch.float64)):
        fast = da_ssdp_delta_w(pre, post, gate=gt, dtype=torch.float64, **kw)
        slow = direct_delta_w(pre, post, gate=gt, dtype=torch.float64, **kw)
        assert fast.shape == (c_out, c_in)
        if gt is not None and bool((gt == 0).all()):
            assert torch.equal(fast, torch.zeros_like(fast))
        else:
            assert _rel(fast, slow) < 1e-9
    # float32 (the default) agrees to float32 rounding; numerator = B * dW before the clamp
    f32 = da_ssdp_delta_w(pre.float(), post.float(), gate=gate.float(), **kw)
    assert (
        f32.dtype == torch.float32
        and _rel(f32.double(), direct_delta_w(pre, post, gate=gate, dtype=torch.float64, **kw)) < 1e-5
    )
    # under DDP `reduce` sees the unclamped numerator (= R * dW) and R before dividing: two ranks
    # holding the same batch sum to twice both, which leaves dW unchanged
    seen = []

    def two_ranks(num, rows):
        seen.append((num.clone(), rows))
        return 2 * num, 2 * rows

    dw = da_ssdp_delta_w(pre, post, gate=gate, dtype=torch.float64, reduce=two_ranks, **kw)
    slow = direct_delta_w(pre, post, gate=gate, dtype=torch.float64, dw_clip=float("inf"), **kw)
    (num, rows), = seen
    assert rows == B and _rel(num / B, slow) < 1e-9
    assert _rel(dw, direct_delta_w(pre, post, gate=gate, dtype=torch.float64, **kw)) < 1e-9


def test_dw_clip_and_synchrony():
    T, B = 3, 4
    pre = torch.ones(T, B, 3)
    post = torch.ones(T, B, 2)
    dw = da_ssdp_delta_w(pre, post, a_plus=5.0, a_minus=0.0, sigma=1.0, dw_clip=0.25)
    assert torch.equal(dw, torch.full((2, 3), 0.25))
    g = torch.Generator().manual_seed(3)
    pre = (torch.rand(T, B, 6, 2, 2, generator=g) > 0.9).float()
    post = (torch.rand(T, B, 5, 2, 2, generator=g) > 0.9).float()
    S = synchrony_from_latency(latencies(pre), latencies(post), T)
    assert torch.allclose(S, direct_synchrony(pre, post), rtol=0, atol=1e-15)
    assert torch.allclose(S, batch_synchrony(pre, post), rtol=0, atol=1e-15)


def test_one_synapse_hand_computed():
    # sample 0: pre [0,1,1] (tau 1), post [1,0,0] (tau 0): co-firing, lag 1 -> +A+ e^{-1/2}
    # sample 1: pre silent (tau T=3), post [0,0,1] (tau 2): no co-firing, lag 1 -> -A- e^{-1/2}
    pre = torch.tensor([[0, 0], [1, 0], [1, 0]], dtype=torch.float64).view(3, 2, 1)
    post = torch.tensor([[1, 0], [0, 0], [0, 1]], dtype=torch.float64).view(3, 2, 1)
    gate = torch.tensor([2.0, 0.5], dtype=torch.float64)
    dw = da_ssdp_delta_w(pre, post, gate=gate, dtype=torch.float64, **KW)
    expected = (2.0 * 1.5e-3 * math.exp(-0.5) - 0.5 * 5e-4 * math.exp(-0.5)) / 2
    assert dw.shape == (1, 1) and abs(float(dw) - expected) < 1e-15
    # both silent: lambda = 0, g = exp(0) = 1 -> -A-
    silent = torch.zeros(2, 1, 1)
    assert abs(float(da_ssdp_delta_w(silent, silent, **KW)) + 5e-4) < 1e-10


def test_first_spike_not_last():
    pre = torch.tensor([0, 1, 0, 1, 1, 0], dtype=torch.float64).view(6, 1, 1)
    post = torch.tensor([0, 0, 0, 1, 0, 0], dtype=torch.float64).view(6, 1, 1)
    assert int(latencies(pre)) == 1
    dw = da_ssdp_delta_w(pre, post, dtype=torch.float64, **KW)
    assert abs(float(dw) - 1.5e-3 * math.exp(-((3 - 1) ** 2) / 2)) < 1e-15  # last spike (4) would give e^-0.5


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(PlasticityInputError, match="share T and B"):
        da_ssdp_delta_w(torch.ones(4, 2, 3), torch.ones(4, 3, 3), **KW)
    with pytest.raises(PlasticityInputError, match="share T and B"):
        da_ssdp_delta_w(torch.ones(4, 2, 3), torch.ones(5, 2, 3), **KW)
    with pytest.raises(PlasticityInputError, match=r"layer 'fc'.*share T and B"):
        da_ssdp_delta_w(torch.ones(4, 2, 3), torch.ones(4, 1, 3), name="fc", **KW)
    with pytest.raises(PlasticityInputError, match="gate"):
        da_ssdp_delta_w(torch.ones(4, 2, 3), torch.ones(4, 2, 3), gate=torch.ones(3), **KW)
    with pytest.raises(PlasticityInputError, match=r"\[T, B, C"):
        da_ssdp_delta_w(torch.ones(2, 3), torch.ones(2, 3), **KW)


def test_gate_from_fit_clamps():
    S = torch.tensor([0.0, 0.1, 0.2, 0.9])
    G = gate_from_fit(S, -1.0, 0.1, 0.05)
    assert torch.allclose(G, torch.tensor([2.0, 1.0, 0.0, 0.0]))
    assert gate_from_fit(0.3, 0.5, 0.1, 0.1, low=0.5, high=1.5) == 1.5
    assert torch.allclose(gate_from_fit(S, 0.0, 0.5, 1.0), torch.ones(4))


def test_fit_from_sums_equals_spec_formulas():
    rng = np.random.default_rng(1)
    batches = [(rng.random(5) * 0.05, rng.random() * 3) for _ in range(7)]
    sums = sum(
        warmup_sums(torch.tensor(s), torch.tensor(loss, dtype=torch.float64).expand(5)) for s, loss in batches
    )
    S = np.concatenate([s for s, _ in batches])
    L = np.concatenate([np.full(5, loss) for _, loss in batches])
    mu_s, sd_s = S.mean(), S.std() + 1e-8
    k = -np.mean(((S - mu_s) / sd_s) * ((L - L.mean()) / (L.std() + 1e-8)))
    got = fit_gate_from_sums(sums).tolist()
    assert abs(got[0] - k) < 1e-9 and abs(got[1] - mu_s) < 1e-15 and abs(got[2] - sd_s) < 1e-12
    assert fit_gate_from_sums(torch.zeros(6)).tolist() == [0.0, 0.0, 1.0]  # nothing recorded
    # constant synchrony (e.g. a silent warm-up): k = 0
    const = warmup_sums(torch.zeros(8), torch.arange(8.0))
    assert fit_gate_from_sums(const).tolist()[0] == 0.0
