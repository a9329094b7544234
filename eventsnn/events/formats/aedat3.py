"""AEDAT 3.1 (`#!AER-DAT3.1`, DVS128 Gesture's original files): `#` header lines ending with
`#!END-HEADER`, then packets. Each packet: a 28-byte little-endian header (int16 event type,
int16 source, int32 event size, int32 ts offset, int32 ts overflow, int32 capacity, int32 number,
int32 valid) and capacity x size bytes of events. Polarity events (type 1, 8 bytes): uint32 data
(bit 0 valid, bit 1 p, bits 16..2 y, bits 31..17 x), int32 t; t += ts_overflow << 31. Other
packet types are skipped, invalid events dropped. Spec: inivation docs, "AEDAT 3.1".
"""

from __future__ import annotations

import re
from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"#!AER-DAT3"
POLARITY = 1


def _header(path: Path) -> tuple[int, str]:
    text = []
    with open(path, "rb") as f:
        while True:
            line = f.readline()
            if not line.startswith(b"#"):
                raise bad(path, f"byte {f.tell() - len(line)}: the header has no '#!END-HEADER' line")
            text.append(line.decode("latin-1"))
            if line.startswith(b"#!END-HEADER"):
                return f.tell(), "".join(text)


def _sensor(text: str):
    return (128, 128, 2) if re.search(r"DVS128", text) else None


@numba.njit(cache=True, nogil=True)
def _i32(b, at):  # pragma: no cover - compiled
    v = (
        np.int64(b[at])
        | (np.int64(b[at + 1]) << 8)
        | (np.int64(b[at + 2]) << 16)
        | (np.int64(b[at + 3]) << 24)
    )
    return v - (1 << 32) if v >= (1 << 31) else v


@numba.njit(cache=True, nogil=True)
def _walk(buf, t, x, y, p):  # pragma: no cover - compiled
    """Decode every polarity packet of `buf` into t/x/y/p (None-sized: pass empty arrays to count).
    Returns (events, error code, byte offset): code 0 ok, 1 short header, 2 bad size/capacity,
    3 short packet, 4 polarity packet without 8-byte events."""
    n = 0
    at = 0
    fill = t.shape[0] > 0
    while at < buf.shape[0]:
        if at + 28 > buf.shape[0]:
            return n, 1, at
        kind = np.int64(buf[at]) | (np.int64(buf[at + 1]) << 8)
        size = _i32(buf, at + 4)
        overflow = _i32(buf, at + 12)
        cap = _i32(buf, at + 16)
        if size <= 0 or cap < 0:
            return n, 2, at
        end = at + 28 + size * cap
        if end > buf.shape[0]:
            return n, 3, at
        if kind == POLARITY:
            if size != 8:
                return n, 4, at
            for e in range(at + 28, end, 8):
                d = (
                    np.int64(buf[e])
                    | (np.int64(buf[e + 1]) << 8)
                    | (np.int64(buf[e + 2]) << 16)
                    | (np.int64(buf[e + 3]) << 24)
                )
                if d & 1:
                    if fill:
                        ts = (
                            np.int64(buf[e + 4])
                            | (np.int64(buf[e + 5]) << 8)
                            | (np.int64(buf[e + 6]) << 16)
                            | (np.int64(buf[e + 7]) << 24)
                        )
                        t[n] = ts | (overflow << 31)
                        x[n] = (d >> 17) & 0x7FFF
                        y[n] = (d >> 2) & 0x7FFF
                        p[n] = (d >> 1) & 1
                    n += 1
        at = end
    return n, 0, at


_ERRORS = {
    1: "truncated at byte {end}: packet header at byte {at} needs 28 bytes",
    2: "byte {at}: packet header with a non-positive event size or a negative capacity",
    3: "truncated at byte {end}: packet at byte {at} runs past the end of the file",
    4: "byte {at}: polarity packet whose events are not 8 bytes",
}


def _read(path: Path, options: ReadOptions) -> EventFile:
    start, text = _header(path)
    buf = np.fromfile(path, dtype=np.uint8, offset=start)
    empty = np.empty(0, EVENT_DTYPE)
    n, code, at = _walk(buf, empty["t"], empty["x"], empty["y"], empty["p"])  # count (and check)
    if code:
        raise bad(path, _ERRORS[code].format(at=start + at, end=start + len(buf)))
    ev = np.empty(n, EVENT_DTYPE)
    _walk(buf, ev["t"], ev["x"], ev["y"], ev["p"])
    return EventFile(ev, _sensor(text), "aedat3")


FORMAT = Format("aedat3", "AEDAT 3.1 (.aedat, polarity packets)", (".aedat",), _read, MAGIC,
                header=lambda path: _sensor(_header(path)[1]))
