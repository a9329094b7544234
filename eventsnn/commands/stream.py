"""`eventsnn stream --checkpoint CK --input SOURCE`: classify a live or replayed event stream."""

from __future__ import annotations

import argparse
import json
import math
import sys

from eventsnn.commands._common import add_inference_arguments, inference_model_from_args, positive_int
from eventsnn.commands._outputs import require_writable_file

COMMAND = "stream"
HELP = "classify sliding windows of an event stream (.aedat4 replay or tcp://host:port) as it arrives"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_inference_arguments(parser)
    parser.set_defaults(threads=1)  # one window at a time: 1 thread is 10x faster than 2 on a busy 2-core CPU
    parser.add_argument(
        "--input", required=True, metavar="SOURCE", help=".aedat4 file, or tcp://host:port (dv NetworkWriter)"
    )
    parser.add_argument("--realtime", action="store_true", help="replay a file at its recorded speed")
    parser.add_argument(
        "--window",
        type=float,
        metavar="MS",
        help="window length (default: the training recordings' median duration stored in the "
        "checkpoint, else 300 ms)",
    )
    parser.add_argument(
        "--hop", type=float, metavar="MS", help="step between windows (default 100 ms, at most the window)"
    )
    parser.add_argument(
        "--window-events", type=positive_int, metavar="N", help="windows of N events instead of --window"
    )
    parser.add_argument(
        "--hop-events", type=positive_int, metavar="M", help="step of M events (with --window-events)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="stop when no events come for S seconds (default 5)",
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--top-k", type=positive_int, default=3, metavar="K", help="classes per decision")
    parser.add_argument("--out", metavar="FILE", help="write decisions as JSON lines (.jsonl)")
    parser.add_argument("--quiet", action="store_true", help="no line per decision")


def run(args: argparse.Namespace) -> int:
    from eventsnn.errors import ConfigError
    from eventsnn.inference.stream import open_source, run_stream, warm_up
    from eventsnn.inference.windows import stream_window

    windows = {
        "window_ms": args.window,
        "hop_ms": args.hop,
        "window_events": args.window_events,
        "hop_events": args.hop_events,
    }
    stream_window(None, **windows)  # bad values: one line before the model is loaded
    if not 0 < args.timeout < math.inf or (args.duration is not None and not 0 < args.duration < math.inf):
        raise ConfigError("--timeout and --duration must be positive, finite seconds")
    if args.out and not args.out.endswith((".jsonl", ".json")):
        raise ConfigError(f"--out {args.out}: decisions are written as JSON lines (.jsonl)")
    if args.out:
        require_writable_file(args.out, "--out")
    model = inference_model_from_args(args)
    spec, windowing = stream_window(model.recordings, **windows)  # warns on a window far from training
    warm_up(model)  # before connecting: a live sender starts at once
    source = open_source(args.input, realtime=args.realtime, timeout=args.timeout)
    out = open(args.out, "w") if args.out else None

    def emit(d) -> None:
        if out is not None:
            out.write(json.dumps(d.to_dict()) + "\n")
            out.flush()
        if not args.quiet:
            print(
                f"t={d.end_us / 1e6:.6f} s  window {d.window}  {d.classes[0]} ({d.probs[0]:.3f})  "
                f"{d.n_events} events  latency {d.latency_ms:.1f} ms"
                + ("  (the whole stream: shorter than one window)" if d.partial else ""),
                flush=True,
            )

    try:
        _, s = run_stream(
            model,
            source,
            spec,
            k=args.top_k,
            duration=args.duration,
            on_decision=emit,
            warm=False,
            keep=False,
        )
    finally:
        if out is not None:
            out.close()
    lat = (
        f"latency median {s['latency_ms_median']:.1f} ms, p99 {s['latency_ms_p99']:.1f} ms"
        if s["windows"]
        else "no complete window"
    )
    order = ", ".join(
        f"{s[key]} {what}"
        for key, what in (
            ("reordered", "reordered"),
            ("late_dropped", "late events dropped"),
            ("restarts", "restarts"),
        )
        if s[key]
    )
    print(
        f"stream: {s['end']}; {s['windows']} decisions, {s['events']} events "
        f"({s['event_rate'] / 1e3:.1f} kev/s over {s['wall_s']:.2f} s), {lat}; {windowing}"
        + (f"; timestamps: {order}" if order else ""),
        file=sys.stderr,
    )
    return 0
