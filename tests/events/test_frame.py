"""to_frames: backend parity (numba / torch / numpy reference), spikingjelly and tonic parity,
the pinned differences from tonic, conservation, no mutation, the real recording, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spikingjelly.datasets import integrate_events_by_fixed_frames_number
from tonic.transforms import ToFrame

from eventsnn.errors import ArgumentError, DataError
from eventsnn.events import to_frames

TONIC_DTYPE = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
BACKENDS = ("numba", "torch", "numpy")
MODES = (
    {"n_frames": 4},
    {"n_frames": 3, "split_by": "time"},
    {"time_window": 7},
    {"time_window": 5.5, "include_incomplete": True},
    {"event_count": 3},
    {"event_count": 4, "include_incomplete": True},
)


def make_events(n, W=128, H=128, P=2, t_max=10**6, seed=0, dtype=TONIC_DTYPE):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=dtype)
    ev["t"] = np.sort(rng.integers(0, t_max, n))
    ev["x"] = rng.integers(0, W, n)
    ev["y"] = rng.integers(0, H, n)
    ev["p"] = rng.integers(0, P, n)
    return ev


def frames_all(ev, sensor, **mode):
    out = {}
    for b in BACKENDS:
        f = to_frames(ev, sensor, backend=b, **mode)
        out[b] = f.numpy() if isinstance(f, torch.Tensor) else f
    return out


def assert_parity(ev, sensor, **mode):
    res = frames_all(ev, sensor, **mode)
    ref = res["numpy"]
    for b, f in res.items():
        assert f.dtype == np.int32 and f.shape == ref.shape, b
        np.testing.assert_array_equal(f, ref, err_msg=f"{b} {mode}")
    return ref


@st.composite
def event_arrays(draw):
    W, H, P = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 2))
    n = draw(st.integers(0, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    t_max = draw(st.sampled_from([1, 5, 50, 10**4]))
    dtype = draw(
        st.sampled_from(
            [
                TONIC_DTYPE,
                np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i4"), ("p", "<i1")]),
                np.dtype([("t", "<u4"), ("x", "<i8"), ("y", "<u1"), ("p", "<u1")]),
                np.dtype([("t", "<f8"), ("x", "<u1"), ("y", "<u2"), ("p", "?")]),
            ]
        )
    )
    return make_events(n, W, H, P, t_max, seed, dtype), (W, H, P)


@settings(max_examples=60, deadline=None)
@given(event_arrays(), st.sampled_from(MODES))
def test_backend_parity_random(data, mode):
    ev, sensor = data
    before = ev.copy()
    ref = assert_parity(ev, sensor, **mode)
    np.testing.assert_array_equal(ev, before)  # never mutated
    if "n_frames" in mode:  # conserved
        assert ref.shape[0] == mode["n_frames"] and ref.sum() == len(ev)


@pytest.mark.parametrize("mode", MODES)
def test_empty_and_single_event(mode):
    sensor = (5, 4, 2)
    frames = assert_parity(make_events(0, 5, 4), sensor, **mode)
    T = mode.get("n_frames", 1)
    assert frames.shape == (T, 2, 4, 5) and frames.sum() == 0
    ev = make_events(1, 5, 4)
    ev["x"], ev["y"], ev["p"] = 4, 3, 1  # the sensor's far corner
    frames = assert_parity(ev, sensor, **mode)
    hit = T - 1 if "n_frames" in mode else 0  # n_frames: remainder folds into the last frame
    assert frames[hit, 1, 3, 4] == 1 and frames.sum() == 1


def test_sensor_edges_and_dtypes():
    W, H = 6, 3
    ev = np.zeros(4, dtype=TONIC_DTYPE)
    ev["t"] = [0, 1, 2, 3]
    ev["x"] = [0, W - 1, 0, W - 1]
    ev["y"] = [0, 0, H - 1, H - 1]
    ev["p"] = [0, 1, 1, 0]
    for b in BACKENDS:
        for dt in (np.int16, np.int32, np.int64):
            f = to_frames(ev, (W, H, 2), n_frames=1, backend=b, dtype=dt)
            f = f.numpy() if isinstance(f, torch.Tensor) else f
            assert f.dtype == dt
            expected = np.zeros((1, 2, H, W), dt)
            expected[0, [0, 1, 1, 0], [0, 0, H - 1, H - 1], [0, W - 1, 0, W - 1]] = 1
            np.testing.assert_array_equal(f, expected)


def test_single_polarity_sensor_ignores_p_and_keeps_input():
    ev = make_events(50, 8, 8, P=2, seed=3)
    before = ev.copy()
    f = to_frames(ev, (8, 8, 1), n_frames=2)
    assert f.shape == (2, 1, 8, 8) and f.sum() == 50
    np.testing.assert_array_equal(ev, before)  # tonic's ToFrame would set p = 0 in place


def sj_frames(ev, split_by, T, H, W):
    d = {k: ev[k] for k in ("t", "x", "y", "p")}
    return integrate_events_by_fixed_frames_number(d, split_by, T, H, W)


@pytest.mark.parametrize("n", [9, 10, 999, 5003])
def test_count_split_equals_spikingjelly(n):
    ev = make_events(n, seed=n)
    for T in (1, 7, 10):
        ours = to_frames(ev, (128, 128, 2), n_frames=T)
        np.testing.assert_array_equal(ours, sj_frames(ev, "number", T, 128, 128).astype(np.int32))
        assert ours.sum() == n


@pytest.mark.parametrize("n", [1000, 5003])
def test_time_split_equals_spikingjelly(n):
    ev = make_events(n, t_max=10**5, seed=n)
    for T in (1, 7, 10):
        ours = to_frames(ev, (128, 128, 2), n_frames=T, split_by="time")
        np.testing.assert_array_equal(ours, sj_frames(ev, "time", T, 128, 128).astype(np.int32))
        torch_f = to_frames(ev, (128, 128, 2), n_frames=T, split_by="time", backend="torch")
        np.testing.assert_array_equal(torch_f.numpy(), ours)


@pytest.mark.parametrize("kw", [{"time_window": 10_000}, {"time_window": 3_333.3}, {"event_count": 700}])
@pytest.mark.parametrize("include_incomplete", [False, True])
def test_time_window_and_event_count_equal_tonic(kw, include_incomplete):
    for dtype in (np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")]), TONIC_DTYPE):
        ev = make_events(5003, 64, 32, t_max=10**5, seed=1, dtype=dtype)
        ref = ToFrame((64, 32, 2), include_incomplete=include_incomplete, **kw)(ev.copy())
        for b in BACKENDS:
            ours = to_frames(ev, (64, 32, 2), backend=b, include_incomplete=include_incomplete, **kw)
            ours = ours.numpy() if isinstance(ours, torch.Tensor) else ours
            np.testing.assert_array_equal(ours, ref.astype(np.int32), err_msg=f"{b} {kw}")


def test_pinned_differences_from_tonic_bins():
    """tonic n_event_bins drops the N % M remainder, n_time_bins drops t >= t0 + M*dt (at least
    the last event); our n_frames modes fold them into the last frame, like spikingjelly."""
    n, M = 1003, 10
    ev = make_events(n, 32, 32, t_max=10**5, seed=7)
    ours = to_frames(ev, (32, 32, 2), n_frames=M)
    tonic_f = ToFrame((32, 32, 2), n_event_bins=M)(ev.copy()).astype(np.int32)
    np.testing.assert_array_equal(ours[:-1], tonic_f[:-1])
    rest = to_frames(ev[(M - 1) * (n // M) + n // M :], (32, 32, 2), n_frames=1)[0]
    np.testing.assert_array_equal(ours[-1], tonic_f[-1] + rest)
    assert tonic_f.sum() == n - n % M and ours.sum() == n

    ours = to_frames(ev, (32, 32, 2), n_frames=M, split_by="time")
    tonic_f = ToFrame((32, 32, 2), n_time_bins=M)(ev.copy()).astype(np.int32)
    np.testing.assert_array_equal(ours[:-1], tonic_f[:-1])
    t = ev["t"].astype(np.int64)
    dt = (t[-1] - t[0]) // M
    dropped = ev[t >= t[0] + M * dt]
    assert len(dropped) >= 1  # the last event at least
    extra = to_frames(dropped, (32, 32, 2), n_frames=1)[0]
    np.testing.assert_array_equal(ours[-1], tonic_f[-1] + extra)
    assert tonic_f.sum() == n - len(dropped)


def test_torch_inputs_and_device():
    ev = make_events(2000, 16, 16, seed=5)
    ref = to_frames(ev, (16, 16, 2), n_frames=5, split_by="time")
    tensors = {k: torch.from_numpy(ev[k].astype(np.int64)) for k in ("t", "x", "y", "p")}
    tensors["p"] = torch.from_numpy(ev["p"])  # bool
    out = to_frames(tensors, (16, 16, 2), n_frames=5, split_by="time")  # auto -> torch
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32
    np.testing.assert_array_equal(out.numpy(), ref)
    out = to_frames(ev, (16, 16, 2), n_frames=5, split_by="time", device="cpu")
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), ref)
    out = to_frames(tensors, (16, 16, 2), n_frames=5, split_by="time", backend="numba")
    np.testing.assert_array_equal(out, ref)


@pytest.mark.gpu
def test_cuda_backend_matches_numba():
    ev = make_events(100_000, seed=11)
    for mode in MODES:
        ref = to_frames(ev, (128, 128, 2), **mode)
        out = to_frames(ev, (128, 128, 2), device="cuda", **mode)
        assert out.device.type == "cuda"
        np.testing.assert_array_equal(out.cpu().numpy(), ref)


def test_real_recording(real_data):
    import tonic

    ev = tonic.io.read_aedat4(str(real_data / "sample.aedat4"))
    before = ev.copy()
    sensor = (320, 240, 2)
    frames = to_frames(ev, sensor, n_frames=10)
    assert frames.shape == (10, 2, 240, 320) and frames.sum() == len(ev) == 111_954
    d = {"t": ev["t"], "x": ev["x"], "y": ev["y"], "p": ev["p"]}
    for split in ("number", "time"):
        sj = integrate_events_by_fixed_frames_number(d, split, 10, 240, 320).astype(np.int32)
        ours = to_frames(ev, sensor, n_frames=10, split_by=split)
        np.testing.assert_array_equal(ours, sj)
        np.testing.assert_array_equal(
            to_frames(ev, sensor, n_frames=10, split_by=split, backend="torch").numpy(), sj
        )
    plain = np.zeros(len(ev), TONIC_DTYPE)  # tonic's reader names p "on" (title "p"); ToFrame wants "p"
    for k in ("t", "x", "y", "p"):
        plain[k] = ev[k]
    ref = ToFrame(sensor, time_window=50_000)(plain).astype(np.int32)
    np.testing.assert_array_equal(to_frames(ev, sensor, time_window=50_000), ref)
    np.testing.assert_array_equal(ev, before)


# ----------------------------------------------------------------------------- errors


def bad(ev, field, value, index=1):
    ev = ev.copy()
    ev[field][index] = value
    return ev


@pytest.mark.parametrize("backend", BACKENDS)
def test_coordinate_errors(backend):
    signed = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")])
    ev = make_events(20, 8, 6, seed=2, dtype=signed)
    cases = [
        ("x", 8, "x = 8"),
        ("y", 6, "y = 6"),
        ("p", 2, "p = 2"),
        ("x", -1, "x = -1"),
        ("y", -3, "y = -3"),
    ]
    for field, value, text in cases:
        for mode in ({"n_frames": 2}, {"event_count": 30}, {"time_window": 1e9}):
            with pytest.raises(DataError, match=rf"event 1 has {text} outside the sensor .*\(8, 6, 2\)"):
                to_frames(bad(ev, field, value), (8, 6, 2), backend=backend, **mode)
    # an event in no tonic slice is checked too (event_count=7 drops the last 6 of 20)
    with pytest.raises(DataError, match="event 19 has x = 9"):
        to_frames(bad(ev, "x", 9, index=19), (8, 6, 2), backend=backend, event_count=7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_errors(backend):
    signed = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")])
    ev = make_events(20, 8, 6, t_max=1000, seed=2, dtype=signed)
    unsorted = bad(ev, "t", 10**6, index=5)
    for mode in ({"n_frames": 2, "split_by": "time"}, {"time_window": 100}):
        with pytest.raises(DataError, match=r"t is not sorted: t\[6\]"):
            to_frames(unsorted, (8, 6, 2), backend=backend, **mode)
        with pytest.raises(DataError, match=r"t\[0\] = -5 is negative"):
            to_frames(bad(ev, "t", -5, index=0), (8, 6, 2), backend=backend, **mode)
    to_frames(unsorted, (8, 6, 2), backend=backend, n_frames=2)  # t does not matter in count mode
    wrapped = make_events(5, 8, 6)
    wrapped["t"][0] = np.uint64(2**64 - 5)
    if backend != "torch":
        with pytest.raises(DataError, match="beyond int64"):
            to_frames(wrapped, (8, 6, 2), backend=backend, time_window=10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of n_frames, time_window, event_count \\(got none\\)"),
        ({"n_frames": 2, "event_count": 3}, "got n_frames, event_count"),
        ({"n_frames": 0}, "n_frames must be a positive integer"),
        ({"n_frames": 2.0}, "n_frames must be a positive integer"),
        ({"n_frames": 2, "split_by": "space"}, "split_by must be 'count' or 'time'"),
        ({"time_window": 10, "split_by": "time"}, "applies only with n_frames"),
        ({"time_window": 0}, "time_window must be a positive number"),
        ({"event_count": -1}, "event_count must be a positive integer"),
        ({"n_frames": 2, "backend": "cupy"}, "backend must be one of"),
        ({"n_frames": 2, "dtype": np.float32}, "dtype must be int16, int32 or int64"),
    ],
)
def test_argument_errors(kwargs, message):
    """Misuse: an ArgumentError, which is also a ValueError (and an EventsnnError for the CLI)."""
    with pytest.raises(ValueError, match=message) as info:
        to_frames(make_events(5, 8, 8), (8, 8, 2), **kwargs)
    assert isinstance(info.value, ArgumentError) and not isinstance(info.value, DataError)


def test_input_errors():
    ev = make_events(5, 8, 8)
    with pytest.raises(ArgumentError, match="sensor_size must be"):
        to_frames(ev, (8, 8), n_frames=2)
    with pytest.raises(ArgumentError, match="sensor_size must be"):
        to_frames(ev, (8, 0, 2), n_frames=2)
    with pytest.raises(DataError, match="lack field\\(s\\) p"):
        to_frames({"t": ev["t"], "x": ev["x"], "y": ev["y"]}, (8, 8, 2), n_frames=2)
    with pytest.raises(DataError, match="lack field\\(s\\) t"):
        to_frames({"x": ev["x"], "y": ev["y"], "p": ev["p"]}, (8, 8, 2), time_window=10)
    no_t = to_frames({"x": ev["x"], "y": ev["y"], "p": ev["p"]}, (8, 8, 2), n_frames=2)
    assert no_t.sum() == 5  # count mode needs no t
    with pytest.raises(DataError, match="field x must be integer"):
        to_frames({"x": ev["x"].astype(float), "y": ev["y"], "p": ev["p"]}, (8, 8, 2), n_frames=2)
    with pytest.raises(DataError, match="different lengths"):
        to_frames({"x": ev["x"], "y": ev["y"][:3], "p": ev["p"]}, (8, 8, 2), n_frames=2)
    with pytest.raises(ArgumentError, match="structured numpy array or a mapping"):
        to_frames([1, 2, 3], (8, 8, 2), n_frames=2)


def test_hot_pixel_counts_beyond_uint16():
    """Frames of <= 65535 events count in a uint16 scratch, bigger ones directly: both exact."""
    for n in (65535, 70000):
        ev = np.zeros(n, TONIC_DTYPE)
        ev["x"], ev["y"], ev["p"] = 2, 1, True  # every event on one pixel
        for b in BACKENDS:
            f = to_frames(ev, (4, 3, 2), n_frames=1, backend=b)
            f = f.numpy() if isinstance(f, torch.Tensor) else f
            assert f[0, 1, 1, 2] == n and f.sum() == n, b
