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
