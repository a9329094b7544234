"""Spike perturbations: identity at zero strength, conservation, rates, no mutation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eventsnn.spikes import SpikeInputError
from eventsnn.spikes.perturb import (
    ComposeSpikes,
    SpikeDeletion,
    SpikeInsertion,
    SpikeJitter,
    spike_deletion,
    spike_insertion,
    spike_jitter,
)

FNS = [spike_jitter, spike_deletion, spike_insertion]


def _binary(shape, density=0.1, seed=0):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < density).float()


def _counts(shape, seed=0):
    return torch.poisson(torch.full(shape, 1.5), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("fn", FNS)
def test_zero_strength_is_identity_copy(fn):
    for x, counts in ((_binary((6, 2, 5)), False), (_counts((6, 2, 4, 4)), True)):
        y = fn(x, 0.0, counts=counts, seed=0)
        assert torch.equal(x, y) and y.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("fn", FNS)
def test_input_not_mutated_and_seeded(fn):
    x = _counts((8, 2, 6, 6))
    before = x.clone()
    a = fn(x, 0.5, counts=True, seed=3)
    assert torch.equal(x, before)
    assert torch.equal(a, fn(x, 0.5, counts=True, generator=torch.Generator().manual_seed(3)))
    assert a.dtype == x.dtype and a.shape == x.shape
    xn = x.numpy().copy()
    out = fn(xn, 0.5, counts=True, seed=3)
    assert isinstance(out, np.ndarray) and np.array_equal(xn, before.numpy())


def test_jitter_conserves_counts_and_moves_them():
    x = _counts((10, 2, 8, 8))
    y = spike_jitter(x, 2.0, counts=True, seed=1)
    assert torch.equal(x.sum(0), y.sum(0))  # per pixel, exactly
    assert (x - y).abs().sum() > 0
    # time_dim: [B, T, ...] layout conserves per-pixel counts along dim 1
    xb = x.transpose(0, 1).contiguous()
    yb = spike_jitter(xb, 2.0, counts=True, time_dim=1, seed=1)
    assert torch.equal(xb.sum(1), yb.sum(1))
    assert torch.equal(yb, y.transpose(0, 1))


def test_jitter_binary_without_collisions_keeps_spikes():
    T, N = 50, 300
    x = torch.zeros(T, N)
    x[torch.randint(5, 45, (N,), generator=torch.Generator().manual_seed(0)), torch.arange(N)] = 1
    y = spike_jitter(x, 1.5, seed=2)  # one spike per neuron: no collisions possible
    assert torch.equal(y.sum(0), torch.ones(N))
    moved = (y.argmax(0) - x.argmax(0)).float()
    assert moved.abs().sum() > 0
    assert abs(moved.std().item() - 1.5) < 0.3  # std of the rounded Gaussian (~1.53)
    assert set(y.unique().tolist()) <= {0.0, 1.0}


def test_jitter_clamps_to_window():
    x = torch.zeros(4, 1000)
    x[0] = 1
    y = spike_jitter(x, 10.0, seed=0)
    assert y.shape == x.shape and torch.equal(y.sum(0), torch.ones(1000))
    assert y[0].sum() > 300 and y[-1].sum() > 300  # clamped mass piles on the edges


def test_deletion_and_insertion_rates():
    x = _binary((20, 50, 100), density=0.2, seed=4)
    n = x.sum().item()
    p = 0.3
    kept = spike_deletion(x, p, seed=5)
    assert bool((kept <= x).all())
    assert abs(kept.sum().item() / n - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    ins = spike_insertion(x, p, seed=6)
    empty = (x == 0).sum().item()
    assert bool((ins >= x).all()) and set(ins.unique().tolist()) <= {0.0, 1.0}
    assert abs((ins - x).sum().item() / empty - p) < 5 * math.sqrt(p * (1 - p) / empty)
    c = _counts((20, 50, 100), seed=7)
    thinned = spike_deletion(c, p, counts=True, seed=8)
    assert bool((thinned <= c).all())
    assert abs(thinned.sum().item() / c.sum().item() - (1 - p)) < 0.01
    added = spike_insertion(c, p, counts=True, seed=9) - c
    assert set(added.unique().tolist()) <= {0.0, 1.0}
    assert abs(added.mean().item() - p) < 5 * math.sqrt(p * (1 - p) / c.numel())


def test_compose_and_transforms():
    x = _binary((10, 4, 32), seed=1)
    chain = ComposeSpikes([SpikeJitter(1.0), SpikeDeletion(0.2), SpikeInsertion(0.05)], seed=4)
    assert torch.equal(chain(x), chain(x))
    g = torch.Generator().manual_seed(4)
    manual = SpikeInsertion(0.05)(SpikeDeletion(0.2)(SpikeJitter(1.0)(x, g), g), g)
    assert torch.equal(chain(x), manual)
    assert hash(chain) == hash(
        ComposeSpikes([SpikeJitter(1.0), SpikeDeletion(0.2), SpikeInsertion(0.05)], seed=4)
    )


def test_errors():
    with pytest.raises(SpikeInputError, match="binary"):
        spike_jitter(torch.tensor([[0.0, 2.0]]), 1.0)
    with pytest.raises(SpikeInputError, match="non-negative integers"):
        spike_deletion(torch.tensor([[0.5, 2.0]]), 0.1, counts=True)
    with pytest.raises(SpikeInputError, match="NaN"):
        spike_insertion(torch.tensor([[0.0, float("nan")]]), 0.1)
    with pytest.raises(SpikeInputError, match="time_dim"):
        spike_jitter(torch.zeros(3, 4), 1.0, time_dim=2)
    with pytest.raises(ValueError, match=r"'spike_deletion' severities \(deletion probability\) must be >= 0 and <= 1"):
        spike_deletion(torch.zeros(3, 4), 1.5)
    with pytest.raises(ValueError, match=r"'spike_jitter' severities \(std \(time steps\)\) must be >= 0, got -1"):
        spike_jitter(torch.zeros(3, 4), -1.0)
    with pytest.raises(ValueError, match="must be >= 0, got nan"):
        spike_jitter(torch.zeros(3, 4), float("nan"))


@pytest.mark.gpu
def test_perturbations_on_cuda():
    x = _counts((6, 2, 4, 4)).cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    for fn in FNS:
        y = fn(x, 0.5, counts=True, generator=g)
        assert y.device == x.device and y.shape == x.shape
    assert torch.equal(spike_jitter(x, 1.0, counts=True, seed=0).sum(0), x.sum(0))


def test_misuse_is_an_argument_error_that_is_a_value_error():
    from eventsnn.errors import ArgumentError, EventsnnError
    from eventsnn.events.transforms import drop_event

    x = torch.zeros(3, 4)
    for call in (
        lambda: spike_deletion(x, 1.5),
        lambda: spike_insertion(x, -0.1),
        lambda: spike_jitter(x, -1.0),
        lambda: drop_event(np.zeros(2, dtype=[(f, "<i8") for f in "txyp"]), 2.0, sensor_size=(4, 4, 2)),
    ):
        with pytest.raises(ArgumentError) as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, EventsnnError)
