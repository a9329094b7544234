"""`eventsnn inspect FILE...`: what an event file holds (format, sensor, events, time, polarity).

Reads in chunks (bounded memory for EVT 2.0 / EVT 3.0 / DAT files of any size). `--png` writes the
accumulated events as a picture (ON red, OFF blue); `--json` prints one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eventsnn.errors import ArgumentError, DataError
from eventsnn.events.formats import ReadOptions, detect_format, iter_events

COMMAND = "inspect"
HELP = "describe event files: format, sensor, event count, duration, rate, polarity balance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="event files (any format read)")
    parser.add_argument("--json", action="store_true", help="print JSON (a list, one object per file)")
    parser.add_argument(
        "--png",
        type=Path,
        metavar="OUT",
        help="write the accumulated events (one file: OUT; several: OUT is a folder, one <name>.png each)",
    )
    parser.add_argument("--columns", help="column order of unnamed [N, 4] .npy arrays, e.g. x,y,p,t")


def describe(path: Path, options: ReadOptions, *, picture: bool = False) -> tuple[dict, np.ndarray | None]:
    """Statistics of one file (chunked), and with `picture` the per-pixel counts [2, H, W]."""
    fmt = detect_format(path)
    sensor = fmt.header(path)
    n = on = 0
    t_first = t_last = None
    x_max = y_max = -1
    monotonic = True
    counts: dict[tuple[int, int], np.ndarray] = {}
    for ev in iter_events(path, options=options):
        if not len(ev):
            continue
        t = ev["t"]
        if t_first is None:
            t_first = int(t[0])
        elif int(t[0]) < t_last:
            monotonic = False
        monotonic = monotonic and bool(np.all(t[1:] >= t[:-1]))
        t_last = int(t[-1])
        n += len(ev)
        on += int(np.count_nonzero(ev["p"]))
        x_max, y_max = max(x_max, int(ev["x"].max())), max(y_max, int(ev["y"].max()))
        if picture:
            key = len(counts)
            counts[key] = np.stack([ev["x"], ev["y"], ev["p"]]).astype(np.int64)
    if n == 0:
        raise DataError(f"{path}: empty recording (no events)")
    w, h = (sensor[0], sensor[1]) if sensor else (x_max + 1, y_max + 1)
    if x_max >= w or y_max >= h:
        raise DataError(f"{path}: events reach x={x_max}, y={y_max}, outside the declared sensor {w}x{h}")
    duration = max(t_last - t_first, 0)
    info = {
        "file": str(path),
        "format": fmt.description,
        "sensor": [w, h] if sensor else None,
        "sensor_from_events": None if sensor else [w, h],
        "events": n,
        "t_first_us": t_first,
        "t_last_us": t_last,
        "duration_s": duration / 1e6,
        "rate_ev_per_s": n / (duration / 1e6) if duration else None,
        "on_fraction": on / n,
        "time_sorted": monotonic,
    }
    img = None
    if picture:
        img = np.zeros((2, h, w), np.int64)
        for xyp in counts.values():
            np.add.at(img, (xyp[2], xyp[1], xyp[0]), 1)
    return info, img


def _write_png(img: np.ndarray, out: Path) -> None:
    import matplotlib.image

    scale = max(float(np.percentile(img[img > 0], 99)) if np.any(img > 0) else 1.0, 1.0)
    rgb = np.zeros((*img.shape[1:], 3))
    rgb[..., 0] = np.clip(img[1] / scale, 0, 1)  # ON red
    rgb[..., 2] = np.clip(img[0] / scale, 0, 1)  # OFF blue
    out.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(out, rgb)


def _line(info: dict) -> str:
    sensor = info["sensor"] or info["sensor_from_events"]
    rate = f"{info['rate_ev_per_s']:,.0f} ev/s" if info["rate_ev_per_s"] else "rate n/a"
    return (
        f"{info['file']}: {info['format']}; sensor {sensor[0]}x{sensor[1]}"
        f"{'' if info['sensor'] else ' (from the events)'}; {info['events']:,} events; "
        f"t {info['t_first_us']}..{info['t_last_us']} us ({info['duration_s']:.3f} s); {rate}; "
        f"ON {100 * info['on_fraction']:.1f}%{'' if info['time_sorted'] else '; TIME NOT SORTED'}"
    )


def run(args: argparse.Namespace) -> int:
    columns = tuple(c.strip() for c in args.columns.split(",")) if args.columns else None
    if columns is not None and sorted(columns) != ["p", "t", "x", "y"]:
        raise ArgumentError(f"--columns {args.columns}: name each of t, x, y, p once")
    options = ReadOptions(columns=columns)
    infos, failed = [], 0
    for path in args.files:
        try:
            info, img = describe(path, options, picture=args.png is not None)
        except DataError as exc:
            if len(args.files) == 1:
                raise
            print(f"inspect: {exc}")
            failed += 1
            continue
        if img is not None:
            out = args.png if len(args.files) == 1 else args.png / f"{path.stem}.png"
            _write_png(img, out)
            info["png"] = str(out)
        infos.append(info)
        if not args.json:
            print(_line(info))
    if args.json:
        print(json.dumps(infos, indent=2))
    return 2 if failed else 0
