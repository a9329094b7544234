"""frames_to_input: polarity-sum channel, resize (hand-computed and vs torchvision), dtype."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eventsnn.config import FramingConfig
from eventsnn.errors import ArgumentError, DataError
from eventsnn.events import (
    FramePostprocess,
    framer_from_config,
    frames_from_config,
    frames_to_input,
    from_config,
)
from tests.reference import antialias_matrix

# antialiased bilinear 4 -> 2 (scale 2): triangle of half-width 2 around centres 1 and 3,
# weights 1/4, 3/4, 3/4, 1/4 at offsets -1.5..1.5, truncated at the border and renormalised
A = np.array([[3, 3, 1, 0], [0, 1, 3, 3]], dtype=np.float64) / 7


def random_frames(T=3, P=2, H=4, W=4, seed=0):
    return np.random.default_rng(seed).integers(0, 20, (T, P, H, W)).astype(np.int32)


def test_polarity_sum_channel():
    f = random_frames()
    out = frames_to_input(f, polarity_sum_channel=True, dtype="int32")
    assert out.shape == (3, 3, 4, 4) and out.dtype == np.int32
    np.testing.assert_array_equal(out[:, :2], f)
    np.testing.assert_array_equal(out[:, 2], f[:, 0] + f[:, 1])


def test_resize_hand_computed():
    f = random_frames()
    out = frames_to_input(f, resize=(2, 2))
    assert out.shape == (3, 2, 2, 2) and out.dtype == np.float32
    expected = np.einsum("ih,tphw,jw->tpij", A, f.astype(np.float64), A)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    area = frames_to_input(f, resize=(2, 2), resize_mode="area")
    np.testing.assert_allclose(area, f.reshape(3, 2, 2, 2, 2, 2).mean(axis=(3, 5)), rtol=1e-6)


def test_resize_matches_reference_pipeline():
    """SpikingResformer: float frames -> torchvision Resize(antialias=True) -> append P0 + P1."""
    from torchvision import transforms

    f = random_frames(T=4, H=128, W=128, seed=1)
    x = torch.from_numpy(f).float()
    ref = transforms.Resize(size=(64, 64), antialias=True)(x)
    ref = torch.cat([ref, ref.sum(dim=1, keepdim=True)], dim=1)
    out = frames_to_input(torch.from_numpy(f), polarity_sum_channel=True, resize=(64, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (4, 3, 64, 64)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-4)


def test_dtypes_and_no_mutation():
    f = random_frames()
    f[0, 0, 0, 0] = 300
    f[0, 0, 0, 1] = 70000
    before = f.copy()
    u8 = frames_to_input(f, dtype="uint8")
    assert u8.dtype == np.uint8 and u8[0, 0, 0, 0] == 255  # saturates
    np.testing.assert_array_equal(u8.astype(np.int32)[f < 255], f[f < 255])
    assert frames_to_input(f, dtype="uint16")[0, 0, 0, 1] == 65535
    assert frames_to_input(torch.from_numpy(f), dtype="int16")[0, 0, 0, 1] == 32767
    half = frames_to_input(f, resize=(2, 2), dtype="float16")
    assert half.dtype == np.float16
    rounded = frames_to_input(f, resize=(2, 2), dtype="int32")
    np.testing.assert_array_equal(rounded, np.round(frames_to_input(f, resize=(2, 2))).astype(np.int32))
    np.testing.assert_array_equal(f, before)


def test_from_config_and_frames_from_config_against_a_slow_loop():
    cfg = FramingConfig(n_frames=5, polarity_sum_channel=True, resize=(8, 8), dtype="float32")
    post = from_config(cfg)
    assert post == FramePostprocess(True, (8, 8), "float32") and hash(post)
    rng = np.random.default_rng(0)
    ev = np.zeros(1000, dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
    ev["t"] = np.arange(1000)
    ev["x"], ev["y"], ev["p"] = rng.integers(0, 16, 1000), rng.integers(0, 16, 1000), rng.integers(0, 2, 1000)
    out = frames_from_config(ev, (16, 16, 2), cfg)
    assert out.shape == (5, 3, 8, 8) and out.dtype == np.float32
    counts = np.zeros((5, 2, 16, 16))  # count split: 1000 events -> 5 frames of 200, in order
    for k, e in enumerate(ev):
        counts[k // 200, int(e["p"]), e["y"], e["x"]] += 1
    R = antialias_matrix(16, 8)
    assert np.allclose(R[0], [3 / 7, 3 / 7, 1 / 7] + [0] * 13)  # the border row of `A` above, widened
    small = np.einsum("ih,tphw,jw->tpij", R, counts, R)
    expected = np.concatenate([small, small.sum(1, keepdims=True)], axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_configured_framer_by_time_against_a_slow_loop():
    cfg = FramingConfig(n_frames=4, split_by="time")
    t = np.array([0, 10, 24, 25, 49, 50, 99, 100], dtype=np.int64)
    ev = np.zeros(len(t), dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    ev["t"], ev["x"], ev["y"], ev["p"] = t, np.arange(8) % 3, 1, np.arange(8) % 2
    frames = framer_from_config(cfg, (3, 2, 2))(ev)
    expected = np.zeros((4, 2, 2, 3))
    for e in ev:  # time split over [t0, t1] = [0, 100]: bin = min(floor(t / 25), 3)
        expected[min(int(e["t"]) // 25, 3), e["p"], e["y"], e["x"]] += 1
    np.testing.assert_array_equal(np.asarray(frames), expected)


def test_errors():
    f = random_frames()
    with pytest.raises(ValueError, match="dtype must be one of"):
        frames_to_input(f, dtype="float64")
    with pytest.raises(ArgumentError, match="resize must be"):
        frames_to_input(f, resize=(0, 2))
    with pytest.raises(ArgumentError, match="resize_mode"):
        frames_to_input(f, resize=(2, 2), resize_mode="nearest")
    with pytest.raises(DataError, match=r"expected frames \[T, P, H, W\]"):
        frames_to_input(f[0])
