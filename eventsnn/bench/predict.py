"""`eventsnn bench predict`: recordings/s of `eventsnn predict` end to end, and where the time goes.

Case: the demo model (configs/demo/demo.yaml: SpikingResformer, 2 stages, T = 4, 16x16 input)
on the first 100 demo recordings (--quick: 40; 64x64, ~7,500 events each), batch 32, CPU.
Contenders, interleaved round by round on the same files:
  * end to end (`predict_files`: read, frame, model), in-process and with one reading worker
    process (the second core decodes and frames while the first runs the model), on one torch
    thread, and in-process on two torch threads;
  * each stage alone: decoding (`read_events` + checks), framing + post-processing (on events
    decoded beforehand), the model (on frames made beforehand; fp32 and bf16 autocast).
Ratios: each stage's share of the in-process end-to-end time, and the worker's speed-up.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from eventsnn.bench._inference_setup import demo_model, demo_recordings
from eventsnn.bench.core import BenchReport, benchmark, limited_threads, time_interleaved
from eventsnn.events.io import check_events, read_events
from eventsnn.events.postprocess import frames_from_config
from eventsnn.inference import predict_files

NAME = "predict"
HELP = "eventsnn predict end to end (recordings/s) and its split: decoding, framing, model"
BATCH = 32


def _threads(n: int, fn):
    """`fn` run with `n` torch threads (restored afterwards)."""

    def call():
        with limited_threads(n):
            return fn()

    return call


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    n = 40 if quick else 100
    repeat = 3 if quick else 5
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        paths = demo_recordings(tmp, n)
        model = demo_model(tmp)
        bf16 = demo_model(tmp, precision="bf16")
        sensor, framing = model.sensor_size, model.cfg.framing
        decoded = [read_events(p, raw=True) for p in paths]
        frames = torch.stack(
            [torch.as_tensor(frames_from_config(ev, sensor, framing)) for ev in decoded]
        ).float()
        batches = list(torch.split(frames, BATCH))

        def decode() -> None:
            for p in paths:
                check_events(read_events(p, raw=True), sensor, p)

        def frame() -> None:
            for ev in decoded:
                frames_from_config(ev, sensor, framing)

        def run_model(m=model) -> None:
            for b in batches:
                m.probabilities(b)

        e2e = lambda workers=0: predict_files(  # noqa: E731
            model, paths, batch_size=BATCH, workers=workers, progress=False
        )
        fns = {
            "end to end, in-process": e2e,
            "end to end, 1 reading worker": lambda: e2e(1),
            "end to end, in-process, 2 threads": _threads(2, e2e),
            "decoding only": decode,
            "framing only": frame,
            "model only (fp32)": run_model,
            "model only (bf16 autocast)": lambda: run_model(bf16),
        }
        with limited_threads(1):
            times = time_interleaved(fns, repeat=repeat, warmup=1)
    case = f"demo model, {n} demo recordings, batch {BATCH}, cpu"
    for name, ts in times.items():
        row = report.add(case, name, ts)
        row["recordings_per_s"] = n / row["median_s"]
    e2e = report.median_of(case, "end to end, in-process")
    for stage in ("decoding only", "framing only", "model only (fp32)"):
        report.ratios[f"share of end to end: {stage}"] = report.median_of(case, stage) / e2e
    report.ratio(
        "worker speed-up (in-process / 1 worker)",
        case,
        "end to end, in-process",
        "end to end, 1 reading worker",
    )
    report.ratio("bf16 model speed-up", case, "model only (fp32)", "model only (bf16 autocast)")
    report.ratio(
        "1 thread / 2 threads speed-up", case, "end to end, in-process, 2 threads", "end to end, in-process"
    )
    report.notes.append("torch runs on 1 thread except in the '2 threads' contender")
    report.notes.append("shares are medians of each stage alone over the in-process end-to-end median")
    return report
