"""`eventsnn stream` against a real dv-processing NetworkWriter on 127.0.0.1 and file replays.

The writer (`eventsnn.inference.replay`, a plain `dv.io.NetworkWriter` loop) runs in a forked
process (the stream closes when it exits) or in a thread (a stall: silence, connection open);
a test never probes the port, which would count as a client.

The decisions must equal an offline computation on the same windows: the recording read
whole, cut by a plain mask per window, framed and classified in one batch.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch

from eventsnn.cli import main
from eventsnn.events.io import read_events
from eventsnn.events.postprocess import frames_from_config
from eventsnn.inference import load_inference_model
from tests.factories import dv_sender, free_port

RECORDING = ("4", "4_0000.aedat4")
SENSOR = (64, 64)


def _stalling_writer(port: int, path: str, ready) -> None:
    """The first 0.16 s of the recording, then silence with the connection open (a stall)."""
    from eventsnn.inference.replay import serve_recording

    serve_recording(path, port, stop_after_s=0.16, ready=ready)


def _offline(model, ev, windows_us) -> torch.Tensor:
    """Probabilities `[n, K]` of the windows [start, end) cut from the whole recording by a mask."""
    frames = [
        torch.as_tensor(
            frames_from_config(ev[(ev["t"] >= s) & (ev["t"] < e)], (*SENSOR, 2), model.cfg.framing)
        )
        for s, e in windows_us
    ]
    return model.probabilities(torch.stack(frames).float())


def _check_against_offline(model, ev, rows):
    windows = [(r["start_us"], r["end_us"]) for r in rows]
    t0 = int(ev["t"][0])
    assert windows[0] == (t0, t0 + 100_000)
    assert [r["window"] for r in rows] == list(range(len(rows)))  # none lost, none repeated
    ref = _offline(model, ev, windows)
    for r, p in zip(rows, ref, strict=True):
        n = int(((ev["t"] >= r["start_us"]) & (ev["t"] < r["end_us"])).sum())
        assert r["n_events"] == n
        assert r["class"] == model.class_names[int(p.argmax())]
        got = torch.tensor([dict(r["top"])[c] for c in model.class_names])
        torch.testing.assert_close(got, p, rtol=0, atol=1e-5)
        assert r["latency_ms"] >= 0


def test_network_stream_equals_offline_windows(tiny_run, tmp_path, capsys):
    path = tiny_run.root.joinpath(*RECORDING)
    ev = read_events(path)
    out = tmp_path / "decisions.jsonl"
    with dv_sender(path) as port:
        args = ["stream", "--checkpoint", str(tiny_run.checkpoint), "--input", f"tcp://127.0.0.1:{port}"]
        args += ["--window", "100", "--hop", "50", "--timeout", "10", "--top-k", "10", "--out", str(out)]
        assert main(args) == 0
    captured = capsys.readouterr()
    assert "the sender closed the stream" in captured.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    span = int(ev["t"][-1]) - int(ev["t"][0])
    assert len(rows) == (span - 100_000) // 50_000 + 1  # every complete window of the recording
    _check_against_offline(load_inference_model(tiny_run.checkpoint, device="cpu"), ev, rows)
    assert captured.out.count("latency") == len(rows)


def test_stalled_stream_stops_after_timeout(tiny_run, tmp_path, capsys):
    path = tiny_run.root.joinpath(*RECORDING)
    port = free_port()
    ready = threading.Event()
    thread = threading.Thread(target=_stalling_writer, args=(port, str(path), ready), daemon=True)
    thread.start()
    assert ready.wait(30)
    out = tmp_path / "decisions.jsonl"
    args = ["stream", "--checkpoint", str(tiny_run.checkpoint), "--input", f"tcp://127.0.0.1:{port}"]
    start = time.perf_counter()
    assert main([*args, "--window", "100", "--hop", "50", "--timeout", "0.5", "--out", str(out)]) == 0
    assert time.perf_counter() - start < 15
    thread.join(timeout=20)
    assert not thread.is_alive()  # the stream disconnected, so the writer could close
    err = capsys.readouterr().err
    assert "no events for 0.5 s (stream stalled)" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["end_us"] - r["start_us"] for r in rows] == [100_000] * len(rows) and len(rows) >= 1


def test_unreachable_address_is_one_line(tiny_run, tmp_path, capsys):
    port = free_port()
    out = tmp_path / "decisions.jsonl"
    args = ["stream", "--checkpoint", str(tiny_run.checkpoint), "--input", f"tcp://127.0.0.1:{port}"]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"eventsnn stream: error: tcp://127.0.0.1:{port}: cannot connect")
    assert len(err.splitlines()) == 1 and not out.exists()
    assert main([*args[:-1], "tcp://127.0.0.1"]) == 2
    assert "expected tcp://host:port" in capsys.readouterr().err


@pytest.mark.parametrize("by", ["time", "count"])
def test_file_replay_equals_offline_windows(tiny_run, tmp_path, by):
    from eventsnn.inference.stream import FileSource, run_stream
    from eventsnn.inference.windows import WindowSpec

    path = tiny_run.root.joinpath(*RECORDING)
    ev = read_events(path)
    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    spec = WindowSpec("time", 100_000, 50_000) if by == "time" else WindowSpec("count", 2000, 1500)
    decisions, summary = run_stream(model, FileSource(path, realtime=False), spec, k=10)
    assert summary["events"] == len(ev) and summary["end"] == f"end of {path.name}"
    rows = [d.to_dict() for d in decisions]
    if by == "time":
        _check_against_offline(model, ev, rows)
        return
    assert len(rows) == (len(ev) - 2000) // 1500 + 1
    frames = [
        torch.as_tensor(frames_from_config(ev[k * 1500 : k * 1500 + 2000], (*SENSOR, 2), model.cfg.framing))
        for k in range(len(rows))
    ]
    ref = model.probabilities(torch.stack(frames).float())
    for k, (r, p) in enumerate(zip(rows, ref, strict=True)):
        assert (r["start_us"], r["end_us"]) == (int(ev["t"][k * 1500]), int(ev["t"][k * 1500 + 1999]))
        got = torch.tensor([dict(r["top"])[c] for c in model.class_names])
        torch.testing.assert_close(got, p, rtol=0, atol=1e-5)
    assert np.isfinite(summary["latency_ms_median"])


@pytest.mark.gpu
def test_stream_on_cuda_matches_cpu(tiny_run):
    from eventsnn.inference.stream import FileSource, run_stream
    from eventsnn.inference.windows import WindowSpec

    path = tiny_run.root.joinpath(*RECORDING)
    spec = WindowSpec("time", 100_000, 50_000)
    runs = []
    for device in ("cpu", "cuda"):
        model = load_inference_model(tiny_run.checkpoint, device=device)
        runs.append(run_stream(model, FileSource(path), spec, k=10)[0])
    for a, b in zip(*runs, strict=True):
        assert (a.window, a.classes[0]) == (b.window, b.classes[0])
        assert a.probs == pytest.approx(b.probs, abs=1e-4)
