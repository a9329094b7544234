"""Stream windows that match training (issue 22 step 7).

A checkpoint written by the real `Trainer` stores its training recordings' duration and event
statistics, checked against a hand computation from the recordings read with dv-processing (the
library that wrote them, not eventsnn's tonic-based reader); `eventsnn stream` defaults its
window to their median duration and warns (one logging line) when `--window` is far from it;
a recording shorter than the window gets one decision at its end, over a real dv NetworkWriter
stream and a file replay.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import main
from eventsnn.events.io import EVENT_DTYPE, read_events, write_aedat4
from eventsnn.events.postprocess import frames_from_config
from eventsnn.events.recording_stats import measure_recordings
from eventsnn.inference import load_inference_model
from eventsnn.inference.windows import SlidingWindows, WindowSpec
from tests.factories import dv_sender

SENSOR = (64, 64, 2)


def _dv_timestamps(path: Path) -> np.ndarray:
    """All timestamps (us) of an .aedat4 read with dv-processing's own reader."""
    import dv_processing as dv

    rec = dv.io.MonoCameraRecording(str(path))
    parts = []
    while rec.isRunning():
        batch = rec.getNextEventBatch()
        if batch is not None and len(batch):
            parts.append(np.asarray(batch.timestamps(), dtype=np.int64))
    return np.concatenate(parts)


def _training_files(root: Path, fraction: float) -> list[Path]:
    """The per-class split by hand: per class folder, the first floor(n_c * fraction) sorted files."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.aedat4"))
        out += files[: math.floor(len(files) * fraction)]
    return out


def _hand_stats(files: list[Path]) -> dict:
    spans = [_dv_timestamps(f) for f in files]
    dur = [int(t.max() - t.min()) for t in spans]
    n = [len(t) for t in spans]
    rate = [k / (d * 1e-6) for k, d in zip(n, dur, strict=True) if d > 0]
    return {
        "measured": len(files),
        "total": len(files),
        "duration_us": {
            "median": statistics.median(dur),
            "mean": sum(dur) / len(dur),
            "min": min(dur),
            "max": max(dur),
        },
        "events": {"median": statistics.median(n), "mean": sum(n) / len(n), "min": min(n), "max": max(n)},
        "event_rate_hz": {"median": statistics.median(rate), "mean": sum(rate) / len(rate)},
        "unreadable": 0,
    }


@pytest.fixture(scope="module")
def trained(tiny_run):
    files = _training_files(tiny_run.root, tiny_run.cfg.data.train_fraction)
    return _hand_stats(files)


def _stream(tiny_run, source, *extra) -> list[str]:
    return [
        "stream",
        "--checkpoint",
        str(tiny_run.checkpoint),
        "--input",
        str(source),
        "--top-k",
        "10",
        *extra,
    ]


def _offline(model, ev) -> torch.Tensor:
    """Class probabilities `[K]` of all of `ev` framed as one window."""
    x = torch.as_tensor(frames_from_config(ev, SENSOR, model.cfg.framing)).float()[None]
    return model.probabilities(x)[0]


def test_the_checkpoint_stores_the_training_recordings_statistics(tiny_run, trained):
    stored = Checkpoint.load(tiny_run.checkpoint).data.recordings
    assert stored is not None
    got = stored.to_dict()
    assert got["measured"] == got["total"] == trained["total"] == 10  # 2 recordings per class, 9:1 split
    for key in ("duration_us", "events", "event_rate_hz"):
        assert got[key] == pytest.approx(trained[key], rel=1e-12), key
    assert got["unreadable"] == 0
    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    assert model.recordings == stored


def test_an_old_checkpoint_without_statistics_loads_and_streams_with_300_ms(tiny_run, tmp_path, capsys):
    raw = torch.load(tiny_run.checkpoint, weights_only=True)
    del raw["data"]["recordings"]
    old = tmp_path / "old.pt"
    torch.save(raw, old)
    assert Checkpoint.load(old).data.recordings is None
    recording = next(tiny_run.root.glob("4/*.aedat4"))
    args = ["stream", "--checkpoint", str(old), "--input", str(recording), "--quiet"]
    assert main(args) == 0
    assert "windows of 300 ms (the default; the checkpoint does not store" in capsys.readouterr().err


def test_a_damaged_statistics_entry_is_one_line(tiny_run, tmp_path, capsys):
    raw = torch.load(tiny_run.checkpoint, weights_only=True)
    raw["data"]["recordings"]["duration_us"]["median"] = float("nan")
    bad = tmp_path / "bad.pt"
    torch.save(raw, bad)
    assert main(["stream", "--checkpoint", str(bad), "--input", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(
        f"eventsnn stream: error: {bad}: its data description is damaged (recordings.duration_us"
    )


def test_the_default_window_is_the_training_duration(tiny_run, trained, tmp_path, capsys, caplog):
    window = math.ceil(trained["duration_us"]["median"])
    hop = min(100_000, window)
    spans = {p: read_events(p)["t"] for p in sorted(tiny_run.root.glob("*/*.aedat4"))}
    longest = max(spans, key=lambda p: int(spans[p][-1] - spans[p][0]))
    t = spans[longest]
    assert int(t[-1] - t[0]) >= window  # at least one complete window
    out = tmp_path / "d.jsonl"
    with caplog.at_level(logging.WARNING):
        assert main([*_stream(tiny_run, longest, "--out", str(out), "--quiet")]) == 0
    assert not caplog.records  # the default window is not far from training
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["end_us"] - r["start_us"] for r in rows] == [window] * len(rows)
    assert [r["start_us"] for r in rows] == [int(t[0]) + k * hop for k in range(len(rows))]
    assert len(rows) == (int(t[-1] - t[0]) - window) // hop + 1 and not any(r["partial"] for r in rows)
    err = capsys.readouterr().err
    assert (
        f"windows of {window / 1e3:g} ms (the training recordings' median duration), hop {hop / 1e3:g} ms"
        in err
    )


@pytest.mark.parametrize("window_ms", [100.0, 1000.0])
def test_a_window_far_from_training_is_warned_in_one_line(tiny_run, trained, caplog, window_ms):
    recording = next(tiny_run.root.glob("4/*.aedat4"))
    with caplog.at_level(logging.WARNING):
        assert main(_stream(tiny_run, recording, "--window", f"{window_ms:g}", "--quiet")) == 0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    ratio = window_ms * 1e3 / trained["duration_us"]["median"]
    median_ms = trained["duration_us"]["median"] / 1e3
    assert (
        warnings[0]
        .getMessage()
        .startswith(
            f"stream: --window {window_ms:g} ms is {ratio:.2f}x the training recordings' duration "
            f"(trained on median {median_ms:.1f} ms, {trained['events']['median']:.0f} events, "
            f"{trained['event_rate_hz']['median'] / 1e3:.1f} kev/s over 10 recordings)"
        )
    )


def test_a_window_near_training_is_not_warned(tiny_run, trained, caplog):
    recording = next(tiny_run.root.glob("4/*.aedat4"))
    near = 1.2 * trained["duration_us"]["median"] / 1e3
    with caplog.at_level(logging.WARNING):
        assert main(_stream(tiny_run, recording, "--window", f"{near:.3f}", "--quiet")) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _short_recording(tiny_run, tmp_path, keep_us: int) -> tuple[Path, np.ndarray]:
    """The first `keep_us` of a demo recording, written as its own .aedat4."""
    ev = read_events(next(tiny_run.root.glob("7/*.aedat4")))
    short = ev[ev["t"] < int(ev["t"][0]) + keep_us]
    path = write_aedat4(tmp_path / "short.aedat4", short, SENSOR)
    return path, short


def test_a_network_stream_shorter_than_the_window_gets_one_decision_at_its_end(tiny_run, tmp_path):
    path, ev = _short_recording(tiny_run, tmp_path, 120_000)
    out = tmp_path / "d.jsonl"
    with dv_sender(path) as port:
        assert main(_stream(tiny_run, f"tcp://127.0.0.1:{port}", "--timeout", "10", "--out", str(out))) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1
    (r,) = rows
    assert r["partial"] is True and r["window"] == 0 and r["n_events"] == len(ev)
    assert (r["start_us"], r["end_us"]) == (int(ev["t"][0]), int(ev["t"][-1]) + 1)
    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    want = _offline(model, ev)
    got = torch.tensor([dict(r["top"])[c] for c in model.class_names])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_a_file_with_fewer_events_than_the_window_gets_one_decision(tiny_run, tmp_path, capsys):
    path, ev = _short_recording(tiny_run, tmp_path, 60_000)
    out = tmp_path / "d.jsonl"
    args = _stream(tiny_run, path, "--window-events", str(len(ev) + 1), "--out", str(out))
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["n_events"], r["partial"], r["start_us"], r["end_us"]) for r in rows] == [
        (len(ev), True, int(ev["t"][0]), int(ev["t"][-1]))
    ]
    assert "(the whole stream: shorter than one window)" in capsys.readouterr().out


def test_flush_gives_one_window_only_when_none_was_complete():
    ev = np.zeros(5, dtype=EVENT_DTYPE)
    ev["t"] = [10, 20, 30, 40, 50]
    w = SlidingWindows(WindowSpec("time", 100, 10))
    assert w.push(ev[:2], 1.0) == [] and w.push(ev[2:], 2.0) == []
    (only,) = [w.flush()]
    assert (only.index, only.start_us, only.end_us, only.partial, only.last_arrival) == (0, 10, 51, True, 2.0)
    assert only.events["t"].tolist() == [10, 20, 30, 40, 50]
    assert w.flush() is None  # once
    done = SlidingWindows(WindowSpec("time", 20, 10))
    assert len(done.push(ev, 0.0)) == 3  # [10, 30), [20, 40), [30, 50)
    assert done.flush() is None  # windows were complete: the tail is not a decision


def test_unreadable_recordings_are_left_out_and_counted(tiny_run, tmp_path):
    good = sorted(tiny_run.root.glob("1/*.aedat4"))
    bad = tmp_path / "broken.aedat4"
    bad.write_text("not an event recording\n")
    got = measure_recordings([good[0], bad, good[1]])
    hand = _hand_stats(good[:2])
    assert (got.measured, got.total, got.unreadable) == (2, 3, 1)
    assert got.duration_us == pytest.approx(hand["duration_us"]) and got.events == pytest.approx(
        hand["events"]
    )
    assert measure_recordings([bad]) is None and measure_recordings([]) is None


def test_a_window_of_events_far_from_training_is_warned(tiny_run, trained, caplog):
    recording = next(tiny_run.root.glob("4/*.aedat4"))
    n = 3 * int(trained["events"]["median"])
    with caplog.at_level(logging.WARNING):
        assert main(_stream(tiny_run, recording, "--window-events", str(n), "--quiet")) == 0
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    ratio = n / trained["events"]["median"]
    assert warning.startswith(
        f"stream: --window-events {n} is {ratio:.2f}x the training recordings' event count"
    )
