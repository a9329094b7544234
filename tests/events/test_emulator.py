"""DVS emulator: hand-computed threshold crossings, determinism, valid output, the demo data set."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from eventsnn.events.emulator import EmulatorParams, dvs_pixel_events, emulate_recording, render, saccade_path
from eventsnn.events.io import read_aedat4


def _one_step(dL, last, refractory):
    L = np.stack([np.zeros(3), np.asarray(dL)])
    thr = np.full(3, 0.25)
    pix, t, p = dvs_pixel_events(L, np.array([0, 1000]), thr, thr, refractory, np.asarray(last, np.int64))
    return sorted(zip(pix.tolist(), t.tolist(), p.tolist(), strict=True))


def test_crossings_by_hand():
    dL, never = [0.55, -0.3, 0.1], [-(10**9)] * 3
    # pixel 0: crossings at 1000 * k * 0.25 / 0.55 (k = 1, 2); pixel 1: 1000 * 0.25 / 0.3; pixel 2: none
    assert _one_step(dL, never, 0) == [(0, 454, 1), (0, 909, 1), (1, 833, 0)]
    assert _one_step(dL, never, 500) == [(0, 454, 1), (1, 833, 0)]  # 909 - 454 < 500: refractory
    assert _one_step(dL, [300, 0, 0], 500) == [(0, 909, 1), (1, 833, 0)]  # 454 < 300 + 500
    # the reference follows every crossing: a second step back to 0 gives 2 OFF crossings (0.5 / 0.25)
    L = np.array([[0.0], [0.55], [0.0]])
    thr = np.array([0.25])
    _, t, p = dvs_pixel_events(L, np.array([0, 1000, 2000]), thr, thr, 0, np.array([-(10**9)]))
    assert p.tolist() == [1, 1, 0, 0] and t.tolist() == [454, 909, 1500, 2000]


def test_static_scene_makes_only_noise():
    """A black image on the black screen: nothing moves, so no events but the background activity."""
    p = replace(EmulatorParams(size=32), noise_rate_hz=0.0)
    assert len(emulate_recording(np.zeros((8, 8)), p, sensor_seed=0, noise_seed=0)) == 0
    noisy = replace(p, noise_rate_hz=50.0)  # expected 50 Hz * 1024 px * 0.3 s = 15,360
    n = len(emulate_recording(np.zeros((8, 8)), noisy, sensor_seed=0, noise_seed=0))
    assert abs(n - 15_360) < 5 * np.sqrt(15_360)


def test_saccades_close_the_loop():
    disp, times = saccade_path(EmulatorParams())
    np.testing.assert_allclose(disp[-1], 0.0, atol=1e-12)
    assert times[-1] == 300_000 and np.all(np.diff(times) > 0)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images[:6] / 16.0, d.target[:6]


def test_emulator_valid_and_deterministic(digits):
    images, _ = digits
    p = EmulatorParams()
    for i, img in enumerate(images):
        ev = emulate_recording(img, p, sensor_seed=0, noise_seed=(0, i))
        assert 2_000 <= len(ev) <= 20_000
        assert ev["x"].max() < p.size and ev["y"].max() < p.size
        assert set(np.unique(ev["p"]).tolist()) == {0, 1}
        assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].min() >= 0
        again = emulate_recording(img, p, sensor_seed=0, noise_seed=(0, i))
        np.testing.assert_array_equal(ev, again)
    other = emulate_recording(images[0], p, sensor_seed=1, noise_seed=(1, 0))
    assert len(other) != len(
        emulate_recording(images[0], p, sensor_seed=0, noise_seed=(0, 0))
    ) or not np.array_equal(other, emulate_recording(images[0], p, sensor_seed=0, noise_seed=(0, 0)))


def test_events_only_where_the_image_moves(digits):
    """Without noise, every event lies on a pixel whose luminance changes during the saccades."""
    images, _ = digits
    p = replace(EmulatorParams(), noise_rate_hz=0.0)
    ev = emulate_recording(images[0], p, sensor_seed=0, noise_seed=0)
    disp, _ = saccade_path(p)
    stack = np.stack([render(images[0], p, dx, dy) for dx, dy in disp])  # [S+1, size, size]
    changed = stack.max(0) - stack.min(0) > 0
    assert changed[ev["y"], ev["x"]].all()
    counts = np.zeros((p.size, p.size))
    np.add.at(counts, (ev["y"], ev["x"]), 1)
    strong = stack.max(0) / stack.min(0) > np.exp(3 * p.contrast_on)  # >= 3 thresholds of change
    assert (counts[strong] > 0).mean() > 0.9


def test_demo_data_layout_and_skip(tmp_path, digits):
    from eventsnn.data.demo import MANIFEST, ensure_demo_data

    root = ensure_demo_data(tmp_path / "dd", limit=12, workers=1, size=32, verbose=False)
    files = sorted(root.glob("*/*.aedat4"))
    assert len(files) == 12
    images, labels = digits
    first = root / str(labels[0]) / f"{labels[0]}_0000.aedat4"
    p = replace(EmulatorParams(), size=32)
    np.testing.assert_array_equal(
        read_aedat4(first), emulate_recording(images[0], p, sensor_seed=0, noise_seed=(0, 0))
    )
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["recordings"] == 12 and manifest["sensor_size"] == [32, 32, 2]
    mtime = first.stat().st_mtime_ns
    ensure_demo_data(root, limit=12, workers=1, size=32, verbose=False)  # complete: untouched
    assert first.stat().st_mtime_ns == mtime
    (root / MANIFEST).unlink()  # a partial folder (no manifest) is regenerated
    ensure_demo_data(root, limit=12, workers=1, size=32, verbose=False)
    assert (root / MANIFEST).is_file() and first.stat().st_mtime_ns != mtime
