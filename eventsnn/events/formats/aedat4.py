"""AEDAT 4.0 (`#!AER-DAT4.0`, iniVation DV): decoded by the `aedat` package's Rust decoder through
tonic (`tonic.io.read_aedat4`); the first event stream of the file. The sensor is the event
stream's declared resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"#!AER-DAT4"


def read_raw(path: Path) -> np.ndarray:
    """tonic's array as decoded (t uint64, x, y uint16, p bool)."""
    import tonic.io

    try:
        return tonic.io.read_aedat4(str(path))
    except ValueError as exc:  # np.concatenate of zero packets
        if "at least one array" in str(exc):
            return np.empty(0, EVENT_DTYPE)
        raise bad(path, f"corrupt or truncated .aedat4 ({exc})") from None
    except Exception as exc:  # the Rust decoder raises RuntimeError / OSError / Exception
        reason = str(exc).strip() or type(exc).__name__
        raise bad(path, f"corrupt or truncated .aedat4 ({reason})") from None


def declared_sensor(path: Path):
    """The first event stream's (width, height, 2) from the header, None when absent/unreadable."""
    try:
        import aedat

        for stream in aedat.Decoder(str(path)).id_to_stream().values():
            if stream["type"] == "events" and stream.get("width"):
                return (int(stream["width"]), int(stream["height"]), 2)
    except Exception:  # unreadable: reading the events reports it
        return None
    return None


def _decode(path: Path) -> tuple[np.ndarray, tuple[int, int, int] | None]:
    """The first event stream straight into EVENT_DTYPE (packets copied once, no concatenation)."""
    import aedat

    try:
        decoder = aedat.Decoder(str(path))
        streams = {k: v for k, v in decoder.id_to_stream().items() if v["type"] == "events"}
        if not streams:
            return np.empty(0, EVENT_DTYPE), None
        target = min(streams)
        packets = [
            packet["events"] for packet in decoder if packet["stream_id"] == target and "events" in packet
        ]
    except Exception as exc:  # the Rust decoder raises RuntimeError / OSError / Exception
        reason = str(exc).strip() or type(exc).__name__
        raise bad(path, f"corrupt or truncated .aedat4 ({reason})") from None
    out = np.empty(sum(len(p) for p in packets), EVENT_DTYPE)
    n = 0
    for packet in packets:
        k = len(packet)
        part = out[n : n + k]
        part["t"], part["x"], part["y"], part["p"] = packet["t"], packet["x"], packet["y"], packet["on"]
        n += k
    w = streams[target].get("width")
    return out, ((int(w), int(streams[target]["height"]), 2) if w else None)


def _read(path: Path, options: ReadOptions) -> EventFile:
    events, sensor = _decode(path)
    return EventFile(events, sensor, "aedat4")


FORMAT = Format("aedat4", "AEDAT 4.0 (.aedat4, iniVation DV)", (".aedat4",), _read, MAGIC,
                header=declared_sensor)
