"""AEDAT 4.0 (`#!AER-DAT4.0`, iniVation DV): decoded by the `aedat` package's Rust decoder through
tonic (`tonic.io.read_aedat4`); the first event stream of the file. The sensor is the event
stream's declared resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"#!AER-DAT4"
# what ends a Python program on purpose; anything else the Rust decoder raises is a bad file
# (a pyo3 panic, `pyo3_runtime.PanicException`, derives from BaseException, not Exception)
_NOT_THE_FILE = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def read_raw(path: Path) -> np.ndarray:
    """tonic's array as decoded (t uint64, x, y uint16, p bool)."""
    import tonic.io

    check_header(path)
    try:
        return tonic.io.read_aedat4(str(path))
    except ValueError as exc:  # np.concatenate of zero packets
        if "at least one array" in str(exc):
            return np.empty(0, EVENT_DTYPE)
        raise bad(path, f"corrupt or truncated .aedat4 ({exc})") from None
    except _NOT_THE_FILE:
        raise
    except BaseException as exc:  # the Rust decoder: RuntimeError / OSError / a panic
        raise _corrupt(path, exc) from None


def check_header(path: Path) -> None:
    """The file holds its magic line, a positive int32 header length and that many header bytes
    (`DataError` otherwise): the Rust decoder panics, with lines of its own on stderr, on a
    header it cannot parse, such as an empty one."""
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC) + 8)
        size = fh.seek(0, 2)
    if len(head) < 18 or not head.startswith(MAGIC):
        raise bad(path, "corrupt or truncated .aedat4 (no complete header)")
    length = int(np.frombuffer(head[14:18], "<i4")[0])  # after b"#!AER-DAT4.0\r\n"
    if length <= 0 or size < 18 + length:
        raise bad(path, f"corrupt or truncated .aedat4 (a header of {length} bytes in a file of {size})")


def _corrupt(path: Path, exc: BaseException):
    reason = str(exc).strip() or type(exc).__name__
    return bad(path, f"corrupt or truncated .aedat4 ({reason})")


def declared_sensor(path: Path):
    """The first event stream's (width, height, 2) from the header, None when absent/unreadable."""
    try:
        import aedat

        check_header(path)
        for stream in aedat.Decoder(str(path)).id_to_stream().values():
            if stream["type"] == "events" and stream.get("width"):
                return (int(stream["width"]), int(stream["height"]), 2)
    except _NOT_THE_FILE:
        raise
    except BaseException:  # unreadable (a panic too): reading the events reports it
        return None
    return None


def _decode(path: Path) -> tuple[np.ndarray, tuple[int, int, int] | None]:
    """The first event stream straight into EVENT_DTYPE (packets copied once, no concatenation)."""
    import aedat

    check_header(path)
    try:
        decoder = aedat.Decoder(str(path))
        streams = {k: v for k, v in decoder.id_to_stream().items() if v["type"] == "events"}
        if not streams:
            return np.empty(0, EVENT_DTYPE), None
        target = min(streams)
        packets = [
            packet["events"] for packet in decoder if packet["stream_id"] == target and "events" in packet
        ]
    except _NOT_THE_FILE:
        raise
    except BaseException as exc:  # the Rust decoder: RuntimeError / OSError / a panic
        raise _corrupt(path, exc) from None
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
