"""Event I/O: dv-processing writes, tonic reads back exactly; real recordings; clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from eventsnn.errors import DataError
from eventsnn.events.io import (
    EVENT_DTYPE,
    read_aedat4,
    read_events,
    read_gesture_npy,
    read_nmnist_bin,
    read_recording,
    to_event_array,
    write_aedat4,
)


def _random_events(n=2000, W=64, H=48, seed=0):
    rng = np.random.default_rng(seed)
    return to_event_array(
        np.sort(rng.integers(0, 2_000_000, n)),
        rng.integers(0, W, n),
        rng.integers(0, H, n),
        rng.integers(0, 2, n),
    )


def test_aedat4_round_trip(tmp_path):
    ev = _random_events()
    path = write_aedat4(tmp_path / "rec.aedat4", ev, (64, 48, 2))
    back = read_aedat4(path)
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, ev)
    raw = read_aedat4(path, raw=True)  # tonic's own array: same values
    for k in ("t", "x", "y"):
        np.testing.assert_array_equal(raw[k], ev[k])
    np.testing.assert_array_equal(raw["p"].astype(np.uint8), ev["p"])
    assert [p.name for p in tmp_path.iterdir()] == ["rec.aedat4"]  # no temp file left


def test_real_recordings(real_data):
    ev = read_recording(real_data / "sample.aedat4", (320, 240, 2))
    assert len(ev) == 111_954
    assert ev["x"].max() < 320 and ev["y"].max() < 240 and set(np.unique(ev["p"])) == {0, 1}
    assert np.all(np.diff(ev["t"]) >= 0)
    nm = read_nmnist_bin(real_data / "sample_nmnist.bin")
    assert len(nm) == 4_325 and nm["x"].max() < 34 and nm["y"].max() < 34
    np.testing.assert_array_equal(read_events(real_data / "sample_nmnist.bin"), nm)


def test_corrupt_truncated_and_random_bytes(tmp_path, real_data):
    trunc = tmp_path / "trunc.aedat4"
    trunc.write_bytes((real_data / "sample.aedat4").read_bytes()[:100_000])
    with pytest.raises(DataError, match=r"trunc\.aedat4: corrupt or truncated \.aedat4 \(.+\)"):
        read_aedat4(trunc)
    junk = tmp_path / "junk.aedat4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match=r"junk\.aedat4: corrupt or truncated \.aedat4"):
        read_aedat4(junk)
    bad_bin = tmp_path / "short.bin"
    shutil.copy(real_data / "sample_nmnist.bin", bad_bin)
    with open(bad_bin, "ab") as f:
        f.write(b"\x00\x01")
    with pytest.raises(DataError, match=r"short\.bin: corrupt or truncated \.bin"):
        read_nmnist_bin(bad_bin)
    with pytest.raises(DataError, match="recording not found"):
        read_aedat4(tmp_path / "missing.aedat4")


def test_empty_and_out_of_sensor(tmp_path):
    empty = write_aedat4(tmp_path / "empty.aedat4", np.zeros(0, EVENT_DTYPE), (32, 32, 2))
    with pytest.raises(DataError, match=r"empty\.aedat4: empty recording"):
        read_aedat4(empty)
    ev = _random_events(W=64, H=48)
    path = write_aedat4(tmp_path / "big.aedat4", ev, (64, 48, 2))
    with pytest.raises(
        DataError, match=r"big\.aedat4: event field x=\d+ outside the sensor \(W, H, P\)=\(32, 48, 2\)"
    ):
        read_recording(path, (32, 48, 2))
    with pytest.raises(DataError, match=r"field y=\d+ outside the sensor"):
        read_recording(path, (64, 40, 2))
    # the writer refuses out-of-sensor events and leaves nothing behind
    with pytest.raises(DataError, match="outside the sensor"):
        write_aedat4(tmp_path / "w" / "bad.aedat4", ev, (10, 10, 2))
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").iterdir())


def test_gesture_npy(tmp_path):
    a = np.array([[1, 2, 1, 0.5], [3, 4, 0, 1.25]])  # x, y, p, t (ms)
    np.save(tmp_path / "3.npy", a)
    ev = read_gesture_npy(tmp_path / "3.npy")
    assert ev["t"].tolist() == [500, 1250] and ev["x"].tolist() == [1, 3] and ev["p"].tolist() == [1, 0]
