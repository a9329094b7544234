"""Prophesee `.dat` (CD events): `%` header, then event type and event size bytes (0x0C, 8), then
8-byte little-endian events: uint32 t (us), uint32 data with x = bits 13..0, y = bits 27..14,
p = bits 31..28 (the layout of `% Version 2` files, which Metavision and faery write).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad
from eventsnn.events.formats._prophesee import check_sensor_fits, header_sensor, read_header

CHUNK_EVENTS = 1 << 21


@numba.njit(cache=True, nogil=True)
def _decode(raw, t, x, y, p):  # pragma: no cover - compiled
    """Fill t/x/y/p from raw uint32 pairs; returns the index of the first event whose polarity is
    not 0/1, or -1."""
    first_bad = -1
    for i in range(raw.shape[0] // 2):
        d = np.int64(raw[2 * i + 1])
        t[i] = raw[2 * i]
        x[i] = d & 0x3FFF
        y[i] = (d >> 14) & 0x3FFF
        pol = (d >> 28) & 0xF
        if pol > 1 and first_bad < 0:
            first_bad = i
        p[i] = pol
    return first_bad


def _start(path: Path) -> int:
    header = read_header(path)
    check_sensor_fits(path, header, 16384)
    with open(path, "rb") as f:
        f.seek(header.data_start)
        pair = f.read(2)
    if len(pair) < 2:
        raise bad(path, f"truncated at byte {header.data_start + len(pair)}: no event type/size bytes")
    if pair[1] != 8:
        raise bad(path, f"byte {header.data_start + 1}: event size {pair[1]}, only 8-byte CD events are read")
    if pair[0] != 0x0C and pair[0] != 0:
        raise bad(path, f"byte {header.data_start}: event type {pair[0]:#x}, only CD events (0x0c) are read")
    start = header.data_start + 2
    size = path.stat().st_size - start
    if size % 8:
        raise bad(path, f"truncated at byte {path.stat().st_size - size % 8}: .dat events are 8 bytes")
    return start


def _read_into(path: Path, out: np.ndarray | None, chunk_events: int) -> Iterator[np.ndarray]:
    """Decode chunk by chunk into `out` (the whole file) or into fresh arrays (yielded)."""
    start = _start(path)
    left = (path.stat().st_size - start) // 8
    done = 0
    with open(path, "rb") as f:
        f.seek(start)
        while left > 0:
            k = min(chunk_events, left)
            raw = np.fromfile(f, dtype="<u4", count=2 * k)
            part = np.empty(k, EVENT_DTYPE) if out is None else out[done : done + k]
            first_bad = _decode(raw, part["t"], part["x"], part["y"], part["p"])
            if first_bad >= 0:
                raise bad(path, f"event {done + first_bad}: polarity {part['p'][first_bad]} is not 0/1")
            left -= k
            done += k
            yield part


def iter_chunks(path: Path, chunk_events: int = CHUNK_EVENTS) -> Iterator[np.ndarray]:
    yield from _read_into(path, None, chunk_events)


def _read(path: Path, options: ReadOptions) -> EventFile:
    out = np.empty((path.stat().st_size - _start(path)) // 8, EVENT_DTYPE)
    for _ in _read_into(path, out, CHUNK_EVENTS):
        pass
    return EventFile(out, header_sensor(path), "dat")


def _sniff(head: bytes, path: Path) -> bool:
    if not head.startswith(b"%"):
        return False
    header = read_header(path)
    if header.kind is not None:
        return False
    with open(path, "rb") as f:
        f.seek(header.data_start)
        pair = f.read(2)
    return path.suffix.lower() == ".dat" or pair == b"\x0c\x08"


FORMAT = Format("dat", "Prophesee DAT (.dat, CD events)", (".dat",), _read, sniff=_sniff,
                header=header_sensor, chunks=iter_chunks)
