"""`eventsnn bench stream`: decision latency and sustained event rate of `eventsnn stream`.

Input: demo recordings played back to back as one stream (timestamps shifted so that each
follows the previous; ~25,000 events/s, 64x64), 10 recordings (3 s; --quick: 4, 1.2 s), the
demo model (configs/demo/demo.yaml), 1 torch thread. Contenders, interleaved round by round:
  * real-time replay (`--realtime`), windows of 100 ms every 50 ms, and of 300 ms every 100 ms;
  * the same stream sent in real time by a dv `NetworkWriter` (a forked process,
    `eventsnn.inference.replay`) and read over tcp on 127.0.0.1 (100 ms / 50 ms windows);
  * the same stream as fast as possible (100 ms / 50 ms windows): the sustained event rate.
Rows: `median_s` is the median decision latency (last event of a window -> decision) over all
decisions of all rounds, with its 99th percentile; the as-fast-as-possible row's `median_s` is
the wall time of one run, with events/s. Ratios: the sustained rate over the recorded rate
(> 1: keeps up with real time), and the median latency against the 50 ms target.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from eventsnn.bench._inference_setup import demo_model, demo_recordings
from eventsnn.bench.core import BenchReport, benchmark, limited_threads
from eventsnn.events.io import read_events, write_aedat4
from eventsnn.inference.replay import serve_and_exit
from eventsnn.inference.stream import FileSource, NetworkSource, run_stream, warm_up
from eventsnn.inference.windows import WindowSpec

NAME = "stream"
HELP = "eventsnn stream: decision latency (median, p99) in real time, sustained event rate"
TARGET_MS = 50.0


def _concatenated(paths: list[Path], out: Path) -> tuple[Path, float]:
    """One .aedat4 of the recordings back to back; (its path, its event rate per second)."""
    parts, offset = [], 0
    for p in paths:
        ev = read_events(p)
        ev["t"] += offset - int(ev["t"][0])
        offset = int(ev["t"][-1]) + 1000
        parts.append(ev)
    ev = np.concatenate(parts)
    write_aedat4(out, ev, (64, 64, 2))
    return out, len(ev) / ((int(ev["t"][-1]) - int(ev["t"][0])) / 1e6)


def _over_tcp(model, stream_file: Path, spec):
    """`run_stream` on a `NetworkSource` fed in real time by a dv NetworkWriter in a forked process."""
    import multiprocessing as mp
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=serve_and_exit, args=(str(stream_file), port, ready), daemon=True)
    proc.start()
    try:
        warm_up(model)
        ready.wait(30)
        return run_stream(model, NetworkSource(f"tcp://127.0.0.1:{port}", timeout=10), spec, warm=False)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    n = 4 if quick else 10
    rounds = 2 if quick else 3
    with limited_threads(1), tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        stream_file, rate = _concatenated(demo_recordings(tmp, n), tmp / "stream.aedat4")
        model = demo_model(tmp)
        contenders = {
            "real time, 100 ms windows every 50 ms": (True, WindowSpec("time", 100_000, 50_000)),
            "real time, 300 ms windows every 100 ms": (True, WindowSpec("time", 300_000, 100_000)),
            "real time over tcp (dv NetworkWriter), 100 ms / 50 ms": (
                "tcp",
                WindowSpec("time", 100_000, 50_000),
            ),
            "as fast as possible, 100 ms / 50 ms": (False, WindowSpec("time", 100_000, 50_000)),
        }
        latencies: dict[str, list[float]] = {k: [] for k in contenders}
        walls: dict[str, list[float]] = {k: [] for k in contenders}
        events = 0
        for _ in range(rounds):
            for name, (realtime, spec) in contenders.items():
                if realtime == "tcp":
                    decisions, s = _over_tcp(model, stream_file, spec)
                else:
                    decisions, s = run_stream(model, FileSource(stream_file, realtime=realtime), spec)
                latencies[name] += [d.latency_ms / 1e3 for d in decisions]
                walls[name].append(s["wall_s"])
                events = s["events"]
    case = f"demo model, {n} demo recordings back to back ({events} events, {rate / 1e3:.1f} kev/s), 1 thread"
    for name, (realtime, _) in contenders.items():
        if realtime:
            lat = np.array(latencies[name])
            row = report.add(case, name, list(lat))
            row["p99_ms"] = float(np.percentile(lat, 99)) * 1e3
            row["decisions"] = len(lat)
            row["wall_s_per_run"] = float(np.median(walls[name]))
        else:
            row = report.add(case, name, walls[name])
            row["events_per_s"] = events / row["median_s"]
    fast = report.median_of(case, "as fast as possible, 100 ms / 50 ms")
    report.ratios["sustained / recorded event rate"] = events / fast / rate
    med = report.median_of(case, "real time, 100 ms windows every 50 ms") * 1e3
    report.ratios[f"median latency / {TARGET_MS:g} ms target (100 ms windows)"] = med / TARGET_MS
    report.notes.append("latency: wall time from the arrival of a window's last event to its decision")
    return report
