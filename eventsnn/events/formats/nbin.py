"""N-MNIST / N-Caltech101 `.bin` (Orchard et al. 2015's ATIS format): 5 bytes per event, x = byte 0,
y = byte 1, p = bit 7 of byte 2, t = bits 22..0 of bytes 2..4 (big-endian, us). An event with
y = 240 is a timestamp-overflow marker: every later timestamp gains 2^13 us and the marker is
dropped (as the data set's published Matlab reader and tonic do). The file does not state its
sensor: N-MNIST is 34 x 34, N-Caltech101 up to 240 x 180; the data set (or the data) says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

OVERFLOW_Y = 240
OVERFLOW_US = 1 << 13


def _read(path: Path, options: ReadOptions) -> EventFile:
    raw = np.fromfile(path, dtype=np.uint8)
    if len(raw) % 5:
        raise bad(
            path, f"truncated at byte {len(raw) - len(raw) % 5}: .bin events are 5 bytes ({len(raw)} bytes)"
        )
    rec = raw.reshape(-1, 5)
    y = rec[:, 1]
    t = (rec[:, 2].astype(np.int64) & 0x7F) << 16 | rec[:, 3].astype(np.int64) << 8 | rec[:, 4]
    marker = y == OVERFLOW_Y
    if marker.any():
        t += OVERFLOW_US * np.cumsum(marker)
        rec, t = rec[~marker], t[~marker]
    ev = np.empty(len(rec), EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t, rec[:, 0], rec[:, 1], rec[:, 2] >> 7
    return EventFile(ev, None, "nmnist_bin")


def _sniff(head: bytes, path: Path) -> bool:
    return path.suffix.lower() == ".bin" and path.stat().st_size % 5 == 0


FORMAT = Format("nmnist_bin", "N-MNIST / N-Caltech101 (.bin, 5-byte ATIS events)", (".bin",), _read,
                sniff=_sniff)
