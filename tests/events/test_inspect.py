"""`eventsnn inspect` and `eventsnn data list` through the CLI, against values computed here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eventsnn.cli import main
from eventsnn.data.sets import list_datasets


def test_inspect_json_png_and_bad_file(tmp_path, capsys):
    faery = pytest.importorskip("faery")
    rng = np.random.default_rng(0)
    n = 5000
    ev = np.zeros(n, faery.EVENTS_DTYPE)
    ev["t"] = np.sort(rng.integers(1000, 3_001_000, n))
    ev["x"], ev["y"], ev["on"] = rng.integers(0, 320, n), rng.integers(0, 240, n), rng.random(n) < 0.3
    faery.events_stream_from_array(ev, (320, 240)).to_file(tmp_path / "r.raw", zero_t0=False, version="evt3")
    assert main(["inspect", str(tmp_path / "r.raw"), "--json", "--png", str(tmp_path / "r.png")]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["sensor"] == [320, 240] and info["events"] == n and info["time_sorted"]
    assert info["t_first_us"] == ev["t"][0] and info["t_last_us"] == ev["t"][-1]
    assert info["on_fraction"] == pytest.approx(ev["on"].mean())
    assert info["rate_ev_per_s"] == pytest.approx(n / ((ev["t"][-1] - ev["t"][0]) / 1e6))
    import matplotlib.image

    img = matplotlib.image.imread(tmp_path / "r.png")
    assert img.shape[:2] == (240, 320)
    x, y = int(ev["x"][0]), int(ev["y"][0])
    assert img[y, x, 0 if ev["on"][0] else 2] > 0  # the first event's pixel is lit in its colour
    (tmp_path / "bad.raw").write_bytes(b"% evt 3.0\n\x01")
    assert main(["inspect", str(tmp_path / "bad.raw")]) == 2
    assert "bad.raw: truncated at byte 10" in capsys.readouterr().err


def test_data_list_shows_every_data_set_with_its_layout(capsys):
    assert main(["data", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list_datasets()
    gesture = next(r for r in rows if r["name"] == "dvs128gesture")
    assert "_labels.csv" in gesture["layout"] and gesture["split"] == "official"
    assert main(["data", "list"]) == 0
    assert "cifar10dvs: CIFAR10-DVS" in capsys.readouterr().out


def test_predict_frames_on_the_data_sensor_size_canvas_like_preprocess(tmp_path):
    """A 64x48 recording with data.sensor_size=(80, 60): preprocess and predict both pad it onto the
    80x60 canvas (no 'recorded on another sensor' refusal, same frames)."""
    from eventsnn.config import load_config
    from eventsnn.events.io import to_event_array, write_aedat4
    from eventsnn.events.postprocess import frame_recording
    from eventsnn.inference.inputs import InputSpec, prepare_input

    rng = np.random.default_rng(1)
    t = np.sort(rng.integers(0, 10**5, 400))
    path = write_aedat4(tmp_path / "r.aedat4", to_event_array(t, rng.integers(0, 64, 400), rng.integers(0, 48, 400),
                                                             rng.integers(0, 2, 400)), (64, 48))  # fmt: skip
    cfg = load_config(None, ["data.sensor_size=[80,60,2]", "framing.n_frames=2"])
    x, n, _, _ = prepare_input(path, InputSpec("events", (80, 60, 2), cfg))
    want, _, _, _ = frame_recording(path, (80, 60, 2), cfg.framing)  # the preprocess cache's call
    assert n == 400 and tuple(x.shape[-2:]) == (60, 80)
    np.testing.assert_array_equal(x.numpy(), want.astype(np.float32))
