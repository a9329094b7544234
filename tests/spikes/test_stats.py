"""Spike statistics: every path (numba, torch, numpy/tensor in) against plain-Python loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eventsnn.spikes import (
    SpikeInputError,
    activity_flags,
    batch_synchrony,
    cofiring_score,
    firing_rate,
    first_spike_time,
    latency_kernel,
    latency_kernel_matrix,
    spike_counts,
    spike_statistics,
)
from eventsnn.spikes import _reference as ref

PATHS = [("numpy", "auto"), ("numpy", "torch"), ("tensor", "auto"), ("tensor", "torch"), ("tensor", "numba")]
SHAPES = [(5, 3, 4), (1, 2, 3), (4, 0, 3), (3, 2, 3, 2, 2), (6, 2, 2, 3), (4, 2, 5, 0)]


def _convert(x: np.ndarray, kind: str):
    return torch.from_numpy(x.copy()) if kind == "tensor" else x


def _np(x) -> np.ndarray:
    return x.numpy() if isinstance(x, torch.Tensor) else x


def _random_spikes(shape, seed, dtype=np.float32, density=0.3):
    rng = np.random.default_rng(seed)
    x = (rng.random(shape) < density).astype(dtype)
    if len(shape) >= 3 and shape[1] > 0 and shape[2] >= 2:
        x[:, 0, 0] = 0  # an all-silent unit
        x[:, -1, -1] = 1  # an all-firing unit
    return x


def test_first_spike_not_last():
    x = np.array([0, 1, 0, 1, 1, 0], dtype=np.float32).reshape(6, 1, 1)
    for kind, backend in PATHS:
        assert int(first_spike_time(_convert(x, kind), backend=backend)[0, 0]) == 1


def test_golden_small_case():
    # T=3, B=1, C=3: unit 0 fires at t=2 only, unit 1 never, unit 2 at every t
    x = np.array([[[0, 0, 1]], [[0, 0, 1]], [[1, 0, 1]]], dtype=np.uint8)
    for kind, backend in PATHS:
        s = spike_statistics(_convert(x, kind), backend=backend)
        assert _np(s.first_spike).tolist() == [[2, 3, 0]]
        assert _np(s.active).tolist() == [[True, False, True]]
        assert _np(s.counts).tolist() == [[1, 0, 3]]
        np.testing.assert_allclose(_np(s.rate), [[1 / 3, 0, 1]], atol=1e-7)
    # synchrony: pre 2 of 3 active, post 1 of 2 active -> 2/3 * 1/2
    post = np.zeros((3, 1, 2), dtype=np.uint8)
    post[1, 0, 1] = 1
    for kind, backend in PATHS:
        got = _np(batch_synchrony(_convert(x, kind), _convert(post, kind), backend=backend))
        np.testing.assert_allclose(got, [1 / 3], rtol=0, atol=1e-12)
    # co-firing: n_t = (1, 1, 2) -> pairs (0, 0, 1) of 3 each -> (1/3) / 3
    for kind, backend in PATHS:
        np.testing.assert_allclose(
            _np(cofiring_score(_convert(x, kind), backend=backend)), [1 / 9], atol=1e-12
        )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduce_spatial", [False, True])
def test_statistics_match_reference(shape, reduce_spatial):
    x = _random_spikes(shape, seed=sum(shape))
    want_first, want_active, want_counts = ref.spike_statistics(x, reduce_spatial)
    for kind, backend in PATHS:
        s = spike_statistics(_convert(x, kind), reduce_spatial=reduce_spatial, backend=backend)
        assert type(s.first_spike) is (torch.Tensor if kind == "tensor" else np.ndarray)
        np.testing.assert_array_equal(_np(s.first_spike), want_first)
        np.testing.assert_array_equal(_np(s.active), want_active)
        np.testing.assert_array_equal(_np(s.counts), want_counts)
        assert _np(s.first_spike).dtype == np.int64 and _np(s.active).dtype == np.bool_
        args = {"reduce_spatial": reduce_spatial, "backend": backend}
        xin = _convert(x, kind)
        np.testing.assert_array_equal(_np(first_spike_time(xin, **args)), want_first)
        np.testing.assert_array_equal(_np(activity_flags(xin, **args)), want_active)
        np.testing.assert_array_equal(_np(spike_counts(xin, **args)), want_counts)
        np.testing.assert_allclose(_np(firing_rate(xin, **args)), want_counts / shape[0], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.float64])
def test_dtypes_and_real_values(dtype):
    x = _random_spikes((4, 3, 5, 2), seed=1, dtype=dtype)
    want = ref.spike_statistics(x, True)
    for kind, backend in PATHS:
        got = spike_statistics(_convert(x, kind), reduce_spatial=True, backend=backend)
        np.testing.assert_array_equal(_np(got.first_spike), want[0])
    # real values: > 0 is a spike, negative is not
    y = np.random.default_rng(0).normal(size=(4, 3, 5)).astype(np.float32)
    want = ref.spike_statistics(y)
    for kind, backend in PATHS:
        np.testing.assert_array_equal(_np(spike_counts(_convert(y, kind), backend=backend)), want[2])


def test_non_contiguous_tensor():
    x = torch.from_numpy(_random_spikes((3, 4, 6, 5), seed=2)).permute(0, 1, 3, 2)  # [T,B,C,S] strided
    want = ref.spike_statistics(x.contiguous().numpy())
    for backend in ("numba", "torch"):
        np.testing.assert_array_equal(first_spike_time(x, backend=backend).numpy(), want[0])


@pytest.mark.parametrize(
    ("pre_shape", "post_shape"),
    [((5, 4, 6), (5, 4, 3)), ((3, 2, 4, 2, 2), (3, 2, 5)), ((1, 0, 3), (1, 0, 2))],
)
def test_batch_synchrony_matches_pair_loop(pre_shape, post_shape):
    pre = _random_spikes(pre_shape, seed=3, density=0.15)
    post = _random_spikes(post_shape, seed=4, density=0.15)
    want = ref.batch_synchrony(pre, post)
    for kind, backend in PATHS:
        got = batch_synchrony(_convert(pre, kind), _convert(post, kind), backend=backend)
        assert _np(got).dtype == np.float64 and _np(got).shape == (pre_shape[1],)
        np.testing.assert_allclose(_np(got), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3, 6), (4, 2, 5, 3), (1, 2, 4), (3, 2, 1), (3, 0, 4)])
def test_cofiring_matches_pair_loop(shape):
    x = _random_spikes(shape, seed=5, density=0.4)
    want = ref.cofiring_score(x)
    for kind, backend in PATHS:
        np.testing.assert_allclose(_np(cofiring_score(_convert(x, kind), backend=backend)), want, atol=1e-12)
    full = np.ones((3, 2, 4), dtype=np.float32)
    np.testing.assert_allclose(cofiring_score(full), [1.0, 1.0])


def test_latency_kernel():
    assert latency_kernel(0, 1.0) == 1.0
    assert latency_kernel(2, 1.0) == pytest.approx(np.exp(-2.0))
    assert latency_kernel(3, 2.0) == pytest.approx(np.exp(-9 / 8))
    t = latency_kernel(torch.tensor([0, 1, -1]), 1.0)
    np.testing.assert_allclose(t.numpy(), [1.0, np.exp(-0.5), np.exp(-0.5)], rtol=1e-6)
    K = latency_kernel_matrix(4, 1.5, dtype=torch.float64)
    assert K.shape == (5, 5)
    for a in range(5):
        for c in range(5):
            assert K[a, c].item() == pytest.approx(np.exp(-((a - c) ** 2) / (2 * 1.5**2)), abs=1e-12)
    with pytest.raises(ValueError, match="sigma"):
        latency_kernel(1, 0.0)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_errors(backend):
    with pytest.raises(SpikeInputError, match="ndim"):
        first_spike_time(np.zeros((3, 4)), backend=backend)
    with pytest.raises(SpikeInputError, match="T must be"):
        first_spike_time(np.zeros((0, 2, 3)), backend=backend)
    x = np.zeros((3, 2, 4), dtype=np.float32)
    x[1, 1, 2] = np.nan
    with pytest.raises(SpikeInputError, match="NaN"):
        spike_statistics(x, backend=backend)
    with pytest.raises(SpikeInputError, match="NaN"):
        batch_synchrony(np.zeros((3, 2, 4), np.float32), x, backend=backend)
    y = np.zeros((3, 2, 4), dtype=np.float32)
    y[0, 0, 0] = 0.5
    spike_statistics(y, backend=backend)  # real values allowed unless binary is asked for
    with pytest.raises(SpikeInputError, match="binary"):
        spike_statistics(y, binary=True, backend=backend)
    with pytest.raises(SpikeInputError, match="binary"):
        cofiring_score(y * 4, binary=True, backend=backend)
    with pytest.raises(SpikeInputError, match="share T and B"):
        batch_synchrony(np.zeros((3, 2, 4)), np.zeros((3, 3, 4)), backend=backend)
    with pytest.raises(ValueError, match="backend"):
        first_spike_time(x, backend="cuda")


def test_half_precision_and_grad_tensors():
    x = torch.from_numpy(_random_spikes((4, 3, 5, 2), seed=9))
    want = ref.spike_statistics(x.numpy(), True)[0]
    for dtype in (torch.float16, torch.bfloat16):
        for backend in ("numba", "torch"):
            got = first_spike_time(x.to(dtype), reduce_spatial=True, backend=backend)
            np.testing.assert_array_equal(got.numpy(), want)
    xg = x.clone().requires_grad_(True)
    np.testing.assert_array_equal(first_spike_time(xg, reduce_spatial=True).numpy(), want)


@pytest.mark.gpu
def test_cuda_matches_reference():
    x = _random_spikes((5, 4, 6, 3, 3), seed=10)
    xc = torch.from_numpy(x).cuda()
    s = spike_statistics(xc, reduce_spatial=True)
    assert s.first_spike.device == xc.device
    want = ref.spike_statistics(x, True)
    np.testing.assert_array_equal(s.first_spike.cpu().numpy(), want[0])
    np.testing.assert_array_equal(s.counts.cpu().numpy(), want[2])
    np.testing.assert_allclose(
        batch_synchrony(xc, xc[:, :, :2]).cpu().numpy(), ref.batch_synchrony(x, x[:, :, :2])
    )
    np.testing.assert_allclose(cofiring_score(xc).cpu().numpy(), ref.cofiring_score(x), atol=1e-12)
    with pytest.raises(ValueError, match="numba"):
        first_spike_time(xc, backend="numba")
