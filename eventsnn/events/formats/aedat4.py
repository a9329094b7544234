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


def _read(path: Path, options: ReadOptions) -> EventFile:
    raw = read_raw(path)
    ev = np.empty(len(raw), EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = raw["t"], raw["x"], raw["y"], raw["p"]
    return EventFile(ev, declared_sensor(path), "aedat4")


FORMAT = Format(
    "aedat4",
    "AEDAT 4.0 (.aedat4, iniVation DV)",
    (".aedat4",),
    lambda head, path: head.startswith(MAGIC),
    _read,
    header=declared_sensor,
)
