"""Event-level perturbations: identity at 0, validity (tonic pitfall cases), monotone effect, seeding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from eventsnn.events.transforms import (
    EVENT_PERTURBATIONS,
    drop_event,
    hot_pixels,
    spatial_jitter,
    time_jitter,
    uniform_noise,
)

SENSOR = (128, 128, 2)  # (W, H, P)
CIFAR_DTYPE = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])  # tonic CIFAR10DVS
SEVERITIES = {
    "time_jitter": (0.0, 100.0, 2000.0, 20000.0),
    "spatial_jitter": (0.0, 0.5, 2.0, 8.0),
    "uniform_noise": (0.0, 0.05, 0.2, 1.0),
    "drop_event": (0.0, 0.1, 0.5, 0.9),
    "hot_pixels": (0.0, 0.001, 0.005, 0.02),
}


def recording(n: int = 4000, t0: int = 7_000_000_000, span: int = 300_000, dtype=CIFAR_DTYPE, seed: int = 0):
    """A recording far from t = 0 with many events on the sensor border (x, y in {0, 127})."""
    g = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=dtype)
    ev["t"] = np.sort(g.integers(t0, t0 + span, n))
    ev["t"][0], ev["t"][-1] = t0, t0 + span  # the span's ends are events
    ev["x"] = g.integers(0, SENSOR[0], n)
    ev["y"] = g.integers(0, SENSOR[1], n)
    edge = g.random(n) < 0.3
    ev["x"][edge] = g.choice([0, SENSOR[0] - 1], edge.sum())
    ev["y"][edge[::-1]] = g.choice([0, SENSOR[1] - 1], edge.sum())
    ev["p"] = (g.random(n) < 0.5).astype(dtype["p"])
    return ev


def assert_valid(out: np.ndarray, ref: np.ndarray) -> None:
    """Inside the sensor and ref's time span, sorted by t, same dtype, every polarity kept."""
    assert out.dtype == ref.dtype
    assert len(out) > 0
    assert out["x"].min() >= 0 and int(out["x"].max()) < SENSOR[0]
    assert out["y"].min() >= 0 and int(out["y"].max()) < SENSOR[1]
    assert int(out["t"].min()) >= int(ref["t"].min()) and int(out["t"].max()) <= int(ref["t"].max())
    assert np.all(np.diff(out["t"].astype(np.int64)) >= 0)
    assert set(np.unique(ref["p"]).tolist()) <= set(np.unique(out["p"]).tolist())


@pytest.mark.parametrize("name", sorted(EVENT_PERTURBATIONS))
def test_severity_zero_is_exact_identity_and_input_untouched(name):
    ev = recording()
    keep = ev.copy()
    out = EVENT_PERTURBATIONS[name](ev, 0.0, sensor_size=SENSOR, generator=np.random.default_rng(1))
    assert out.dtype == ev.dtype and np.array_equal(out, ev)
    assert not np.shares_memory(out, ev)
    EVENT_PERTURBATIONS[name](
        ev, SEVERITIES[name][-1], sensor_size=SENSOR, generator=np.random.default_rng(1)
    )
    assert np.array_equal(ev, keep)  # never mutated


@pytest.mark.parametrize(
    "dtype", [CIFAR_DTYPE, np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])]
)
@pytest.mark.parametrize("name", sorted(EVENT_PERTURBATIONS))
def test_every_severity_gives_a_valid_recording(name, dtype):
    ev = recording(dtype=dtype)
    for severity in SEVERITIES[name][1:]:
        for seed in range(3):
            assert_valid(
                EVENT_PERTURBATIONS[name](
                    ev, severity, sensor_size=SENSOR, generator=np.random.default_rng(seed)
                ),
                ev,
            )


def test_tonic_pitfalls_break_where_ours_stay_valid():
    """tonic's jitters wrap unsigned fields, its noise is ON-only: ours stay valid on the same input."""
    import tonic.transforms as tt

    ev = recording()
    np.random.seed(0)  # noqa: NPY002 (tonic draws from the global state)
    tj = tt.TimeJitter(std=50_000, clip_negative=True, sort_timestamps=True)(ev.copy())
    sj = tt.SpatialJitter(sensor_size=SENSOR, var_x=4, var_y=4, clip_outliers=True)(ev.copy())
    un = tt.UniformNoise(sensor_size=SENSOR, n=2000)(ev.copy())
    t_span = (int(ev["t"].min()), int(ev["t"].max()))
    tonic_broken = (
        int(tj["t"].max()) > t_span[1] or int(tj["t"].min()) < t_span[0],  # wrapped / outside the span
        len(sj) < len(ev) or int(sj["x"].max()) >= SENSOR[0],  # edge events lost or wrapped to 65535
        not (un["p"][~np.isin(un, ev)] == 0).any(),  # noise events: no OFF polarity
    )
    assert all(tonic_broken), tonic_broken
    g = np.random.default_rng(0)
    ours = (
        time_jitter(ev, 50_000, sensor_size=SENSOR, generator=g),
        spatial_jitter(ev, 2.0, sensor_size=SENSOR, generator=g),
        uniform_noise(ev, 0.5, sensor_size=SENSOR, generator=g),
    )
    for out in ours:
        assert_valid(out, ev)
    assert len(ours[1]) == len(ev)  # spatial jitter keeps every event
    noise_p = ours[2][~np.isin(ours[2], ev)]["p"]
    assert noise_p.any() and (~noise_p).any()  # noise events of both polarities


def _hist(ev: np.ndarray) -> np.ndarray:
    return np.histogramdd(
        np.stack([ev["x"], ev["y"], ev["p"].astype(int)], 1),
        bins=(SENSOR[0], SENSOR[1], 2),
        range=((0, SENSOR[0]), (0, SENSOR[1]), (0, 2)),
    )[0]


def test_effect_grows_with_severity():
    ev = recording()
    t_ref = ev["t"].astype(np.int64)

    def effect(name, s):
        out = EVENT_PERTURBATIONS[name](ev, s, sensor_size=SENSOR, generator=np.random.default_rng(3))
        if name == "time_jitter":
            return np.abs(np.sort(out["t"].astype(np.int64)) - t_ref).sum()
        if name == "spatial_jitter":
            return np.abs(_hist(out) - _hist(ev)).sum()
        return abs(len(out) - len(ev))  # noise / hot pixels add, drop removes

    for name, sev in SEVERITIES.items():
        effects = [effect(name, s) for s in sev]
        assert effects[0] == 0
        assert all(a < b for a, b in itertools.pairwise(effects)), (name, effects)


def test_counts_and_nesting():
    ev = recording()
    n = len(ev)
    assert len(uniform_noise(ev, 0.25, sensor_size=SENSOR, generator=np.random.default_rng(0))) == n + round(
        0.25 * n
    )
    small = drop_event(ev, 0.2, sensor_size=SENSOR, generator=np.random.default_rng(5))
    big = drop_event(ev, 0.6, sensor_size=SENSOR, generator=np.random.default_rng(5))
    assert len(small) == n - int(0.2 * n + 0.5) and len(big) == n - int(
        0.6 * n + 0.5
    )  # tonic DropEvent's count
    assert np.isin(big, small).all()  # same seed: the larger drop removes a superset
    both = drop_event(ev, 1.0, sensor_size=SENSOR, generator=np.random.default_rng(0))
    assert sorted(both["p"].tolist()) == [False, True]  # one event of each polarity survives


def test_hot_pixels_fire_at_the_rate_with_both_polarities():
    ev = recording(span=100_000)  # 0.1 s
    out = hot_pixels(
        ev, 2 / (128 * 128), sensor_size=SENSOR, generator=np.random.default_rng(0), rate_hz=1000.0
    )
    added = out[~np.isin(out, ev)]
    pix = np.unique(added["x"].astype(int) * 1000 + added["y"].astype(int))
    assert len(pix) == 2
    per_pixel = [added[(added["x"].astype(int) * 1000 + added["y"]) == q] for q in pix]
    for a in per_pixel:
        assert len(a) in (100, 101)  # 1 kHz over 0.1 s
        assert np.allclose(np.diff(a["t"].astype(np.int64)), 1000, atol=1)
        assert a["p"].sum() in (len(a) // 2, (len(a) + 1) // 2)  # alternating ON / OFF
    on = hot_pixels(ev, 0.001, sensor_size=SENSOR, generator=np.random.default_rng(0), polarity="on")
    assert on[~np.isin(on, ev)]["p"].all()


def test_seeded_reproducible_and_float_time():
    ev = recording()
    for name, sev in SEVERITIES.items():
        a = EVENT_PERTURBATIONS[name](ev, sev[2], sensor_size=SENSOR, generator=np.random.default_rng(9))
        b = EVENT_PERTURBATIONS[name](ev, sev[2], sensor_size=SENSOR, generator=np.random.default_rng(9))
        c = EVENT_PERTURBATIONS[name](ev, sev[2], sensor_size=SENSOR, generator=np.random.default_rng(10))
        assert np.array_equal(a, b) and not np.array_equal(a, c)
    fdt = np.dtype([("t", "<f8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")])
    evf = recording(dtype=fdt)
    for name, sev in SEVERITIES.items():
        assert_valid(
            EVENT_PERTURBATIONS[name](evf, sev[-1], sensor_size=SENSOR, generator=np.random.default_rng(0)),
            evf,
        )


def test_time_jitter_reflects_into_the_span():
    ev = np.zeros(3, dtype=CIFAR_DTYPE)
    ev["t"] = [10, 20, 30]
    ev["p"] = [True, False, True]
    out = time_jitter(
        ev, 1e9, sensor_size=SENSOR, generator=np.random.default_rng(0)
    )  # huge jitter: still inside [10, 30]
    assert out["t"].min() >= 10 and out["t"].max() <= 30


def test_fast_sort_equals_the_stable_sort_with_ties():
    from eventsnn.events.transforms import _sorted

    g = np.random.default_rng(0)
    ev = np.zeros(5000, dtype=CIFAR_DTYPE)
    ev["t"] = g.integers(10**15, 10**15 + 50, len(ev))  # many equal timestamps
    ev["x"] = np.arange(len(ev)) % 128
    ev["y"] = np.arange(len(ev)) // 128
    assert np.array_equal(_sorted(ev), ev[np.argsort(ev["t"], kind="stable")])


def test_real_recording_stays_valid(real_data):
    """A real DAVIS recording (t ~ 1.6e15 us, tonic's titled p field 'on') under every perturbation."""
    import tonic

    ev = tonic.io.read_aedat4(str(real_data / "sample.aedat4"))
    sensor = (320, 240, 2)
    for name, sev in SEVERITIES.items():
        out = EVENT_PERTURBATIONS[name](ev, sev[-1], sensor_size=sensor, generator=np.random.default_rng(0))
        assert out.dtype == ev.dtype and len(out) > 0
        assert int(out["x"].max()) < sensor[0] and int(out["y"].max()) < sensor[1]
        assert int(ev["t"].min()) <= int(out["t"].min()) and int(out["t"].max()) <= int(ev["t"].max())
        assert np.all(np.diff(out["t"].astype(np.int64)) >= 0)
        assert set(np.unique(out["p"]).tolist()) == {False, True}
