"""Encoders: shapes, values, seeds, rate statistics, latency golden values."""

from __future__ import annotations

import math

import pytest
import torch

from eventsnn.spikes import SpikeInputError
from eventsnn.spikes.encode import (
    DirectEncoder,
    LatencyEncoder,
    RateEncoder,
    direct_encode,
    latency_encode,
    rate_encode,
)


def test_direct_repeats_and_copies():
    x = torch.rand(2, 3, 4, 4)
    y = direct_encode(x, 4)
    assert y.shape == (4, 2, 3, 4, 4)
    assert all(torch.equal(y[t], x) for t in range(4))
    y[0].zero_()
    assert x.abs().sum() > 0  # not a view of the input
    assert DirectEncoder(T=3)(x[0]).shape == (3, 3, 4, 4)


def test_rate_values_seed_and_mean():
    x = torch.rand(4, 3, 8, 8)
    a = rate_encode(x, 5, seed=7)
    assert a.shape == (5, 4, 3, 8, 8)
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(a, rate_encode(x, 5, seed=7))
    assert not torch.equal(a, rate_encode(x, 5, seed=8))
    # mean firing rate matches intensity: 4000 draws per level, 5 sigma of a Bernoulli mean
    for level in (0.0, 0.1, 0.5, 0.9, 1.0):
        s = rate_encode(torch.full((40, 100), level), 100, seed=11)
        tol = 5 * math.sqrt(level * (1 - level) / s.numel()) + 1e-12
        assert abs(s.mean().item() - level) <= tol


def test_latency_linear_and_log_golden():
    x = torch.tensor([0.0, 0.1, 0.5, 1.0])
    T = 5
    lin = latency_encode(x, T)
    # t_f = round((1 - x) * 4): 0.1 -> round(3.6) = 4, 0.5 -> 2, 1 -> 0, 0 -> silent
    assert lin.sum(0).tolist() == [0, 1, 1, 1]
    assert lin.argmax(0)[1:].tolist() == [4, 2, 0]
    log = latency_encode(x, T, mode="log", x_min=0.01)
    # t_f = round(4 * ln(x) / ln(0.01)): 0.1 -> 2, 0.5 -> round(0.602) = 1, 1 -> 0
    assert log.sum(0).tolist() == [0, 1, 1, 1]
    assert log.argmax(0)[1:].tolist() == [2, 1, 0]
    # brighter never later
    xs = torch.linspace(0.001, 1, 200)
    for mode in ("linear", "log"):
        t_f = latency_encode(xs, 8, mode=mode).argmax(0)
        assert bool((t_f[1:] <= t_f[:-1]).all())


def test_transform_forms_by_their_own_expectations():
    """The transform classes checked against hand values and statistics, not against the functions."""
    x = torch.tensor([[0.0, 1.0], [0.25, 0.75]])  # [C=2, N=2]
    direct = DirectEncoder(T=3)(x)
    assert direct.shape == (3, 2, 2) and all(torch.equal(direct[t], x) for t in range(3))
    rate = RateEncoder(T=4000, seed=1)
    s = rate(x)
    assert torch.equal(s, rate(x))  # seeded: same input, same spikes
    assert s.shape == (4000, 2, 2) and set(s.unique().tolist()) <= {0.0, 1.0}
    assert s[:, 0, 0].sum() == 0 and s[:, 0, 1].sum() == 4000  # 0 never fires, 1 always does
    for level, rate_seen in ((0.25, s[:, 1, 0].mean()), (0.75, s[:, 1, 1].mean())):
        assert abs(float(rate_seen) - level) <= 5 * math.sqrt(level * (1 - level) / 4000)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)
    assert not torch.equal(RateEncoder(T=50)(x, g1), RateEncoder(T=50)(x, g2))
    lin = LatencyEncoder(T=5)(torch.tensor([0.0, 0.1, 0.5, 1.0]))  # t_f = round((1 - x) * 4)
    assert lin.sum(0).tolist() == [0, 1, 1, 1] and lin.argmax(0)[1:].tolist() == [4, 2, 0]
    log = LatencyEncoder(T=5, mode="log", x_min=0.01)(torch.tensor([0.1, 0.5, 1.0]))
    assert log.argmax(0).tolist() == [2, 1, 0]  # t_f = round(4 ln x / ln 0.01)
    assert hash(LatencyEncoder(T=6, mode="log")) == hash(LatencyEncoder(T=6, mode="log"))


@pytest.mark.parametrize("fn", [direct_encode, rate_encode, latency_encode])
def test_input_checks(fn):
    with pytest.raises(SpikeInputError, match=r"\[0, 1\]"):
        fn(torch.tensor([0.5, 1.5]), 4)
    with pytest.raises(SpikeInputError, match="NaN"):
        fn(torch.tensor([0.5, float("nan")]), 4)
    with pytest.raises(SpikeInputError, match="T must"):
        fn(torch.tensor([0.5]), 0)


@pytest.mark.gpu
def test_encoders_on_cuda():
    x = torch.rand(2, 3, 4, 4, device="cuda")
    for y in (direct_encode(x, 3), rate_encode(x, 3, seed=0), latency_encode(x, 3, mode="log")):
        assert y.device == x.device and y.shape == (3, 2, 3, 4, 4)
    assert torch.equal(latency_encode(x, 3).cpu(), latency_encode(x.cpu(), 3))
