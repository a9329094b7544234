"""jAER AEDAT 2.0 (`#!AER-DAT2.0` header): `#` text lines, then big-endian pairs of int32 address,
int32 timestamp (us). Addresses follow the DVS128 layout: p = bit 0, x = bits 7..1, y = bits
14..8 (the raw address fields, as tonic's `get_aer_events_from_file` and spikingjelly's CIFAR10-DVS
loader decode them; a data set's orientation, e.g. spikingjelly's x' = 127 - y, is applied by the
data set module, not here). The sensor is the DVS128's (128, 128, 2).
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"#!AER-DAT2"
SENSOR = (128, 128, 2)


def data_start(path: Path) -> int:
    """Byte offset after the `#` header lines."""
    with open(path, "rb") as f:
        while True:
            at = f.tell()
            if f.read(1) != b"#":
                return at
            line = f.readline()
            if not line.endswith(b"\n"):
                raise bad(path, f"truncated at byte {f.tell()}: the '#' header line has no end")


def decode_dvs128(address: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """DVS128 addresses + timestamps -> EVENT_DTYPE (raw address fields, no flip)."""
    ev = np.empty(len(address), EVENT_DTYPE)
    ev["t"] = timestamp
    ev["x"] = (address >> 1) & 0x7F
    ev["y"] = (address >> 8) & 0x7F
    ev["p"] = address & 1
    return ev


@numba.njit(cache=True, nogil=True)
def _decode(raw, t, x, y, p):  # pragma: no cover - compiled
    """Big-endian (address, timestamp) uint32 pairs given as bytes -> t/x/y/p."""
    for i in range(raw.shape[0] // 8):
        b = 8 * i
        a = (np.int64(raw[b]) << 24) | (np.int64(raw[b + 1]) << 16) | (np.int64(raw[b + 2]) << 8) | raw[b + 3]
        t[i] = (
            (np.int64(raw[b + 4]) << 24)
            | (np.int64(raw[b + 5]) << 16)
            | (np.int64(raw[b + 6]) << 8)
            | raw[b + 7]
        )
        x[i] = (a >> 1) & 0x7F
        y[i] = (a >> 8) & 0x7F
        p[i] = a & 1


def _read(path: Path, options: ReadOptions) -> EventFile:
    start = data_start(path)
    size = path.stat().st_size - start
    if size % 8:
        raise bad(path, f"truncated at byte {path.stat().st_size - size % 8}: AEDAT 2.0 events are 8 bytes")
    raw = np.fromfile(path, dtype=np.uint8, offset=start)
    ev = np.empty(size // 8, EVENT_DTYPE)
    _decode(raw, ev["t"], ev["x"], ev["y"], ev["p"])
    return EventFile(ev, SENSOR, "aedat2")


FORMAT = Format("aedat2", "jAER AEDAT 2.0 (.aedat, DVS128 addresses)", (".aedat",), _read, MAGIC,
                header=lambda path: SENSOR)
