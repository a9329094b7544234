"""Event Stream `.es` (the Sepia / faery format, version 2.x), DVS type: the magic `Event Stream`,
3 version bytes, a type byte (1 = DVS), width and height (uint16 little-endian), then a byte code:
0xFF adds 127 us to t (overflow), 0xFE is a reset (skipped), any other byte b adds b >> 1 us and
sets p = b & 1, followed by x (uint16 LE) and y (uint16 LE). The y axis of Event Stream points
up (origin bottom-left): y is flipped to eventsnn's top-left origin, y' = H - 1 - y, as faery's
own reader does. Generic, ATIS and colour streams are
refused.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"Event Stream"
TYPES = {0: "generic", 1: "DVS", 2: "ATIS", 3: "colour"}


@numba.njit(cache=True, nogil=True)
def _decode(data, t, x, y, p):  # pragma: no cover - compiled
    """Returns (events written, byte offset of an unfinished event or -1)."""
    tt = 0
    n = 0
    i = 0
    size = data.shape[0]
    while i < size:
        b = data[i]
        if b == 0xFF:
            tt += 127
            i += 1
        elif b == 0xFE:
            i += 1
        else:
            if i + 5 > size:
                return n, i
            tt += b >> 1
            t[n] = tt
            p[n] = b & 1
            x[n] = np.uint16(data[i + 1]) | (np.uint16(data[i + 2]) << 8)
            y[n] = np.uint16(data[i + 3]) | (np.uint16(data[i + 4]) << 8)
            n += 1
            i += 5
    return n, -1


def _header(path: Path) -> tuple[tuple[int, int, int], int]:
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 16 or not head.startswith(MAGIC):
        raise bad(path, "not an Event Stream file (no 'Event Stream' magic)")
    major, kind = head[12], head[15]
    if major != 2:
        raise bad(path, f"byte 12: Event Stream version {major}.{head[13]}.{head[14]}, only 2.x is read")
    if kind != 1:
        raise bad(path, f"byte 15: a {TYPES.get(kind, f'type {kind}')} stream, only DVS streams are read")
    if len(head) < 20:
        raise bad(path, f"truncated at byte {len(head)}: no sensor size")
    w, h = int.from_bytes(head[16:18], "little"), int.from_bytes(head[18:20], "little")
    return (w, h, 2), 20


def _read(path: Path, options: ReadOptions) -> EventFile:
    sensor, start = _header(path)
    data = np.fromfile(path, dtype=np.uint8, offset=start)
    out = np.empty(len(data) // 5 + 1, EVENT_DTYPE)
    n, cut = _decode(data, out["t"], out["x"], out["y"], out["p"])
    if cut >= 0:
        raise bad(path, f"truncated at byte {start + cut}: an event needs 5 bytes")
    ev = out[:n].copy()
    if n and ev["y"].max() >= sensor[1]:
        i = int(np.argmax(ev["y"] >= sensor[1]))
        raise bad(path, f"event {i}: y={ev['y'][i]} outside the declared height {sensor[1]}")
    ev["y"] = sensor[1] - 1 - ev["y"]  # Event Stream's origin is the bottom-left corner
    return EventFile(ev, sensor, "es")


FORMAT = Format("es", "Event Stream 2.x (.es, DVS)", (".es",), _read, MAGIC,
                header=lambda path: _header(path)[0])
