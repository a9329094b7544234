"""What every format reader shares: the event dtype, the result type, checked conversion, errors.

`EVENT_DTYPE` is the one in-memory layout of events in eventsnn: t (int64, microseconds), x, y
(uint16 pixel columns / rows), p (uint8, 0 = OFF, 1 = ON). `to_checked_events` is the only way a
reader narrows decoded values into it: every value is range-checked in its own (wide) type first,
so a timestamp column given as x is refused instead of wrapping around (x = 65534).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from eventsnn.errors import DataError

EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
SensorSize = tuple[int, int, int]  # (W, H, P) as in tonic
HEAD_BYTES = 512  # what `sniff` functions see of a file


@dataclass(frozen=True)
class EventFile:
    """A decoded recording: `events` [N] of `EVENT_DTYPE`, the sensor the file declares (or None)."""

    events: np.ndarray
    sensor_size: SensorSize | None
    format: str


@dataclass(frozen=True)
class ReadOptions:
    """Reader options a file cannot state itself.

    Attributes:
        columns: column order of an unnamed `[N, 4]` array, e.g. ("x", "y", "p", "t"); required
            for such arrays (eventsnn never guesses it).
        time_scale: multiplier from the file's time unit to microseconds (tonic's DVS128 Gesture
            `.npy` stores milliseconds: 1000).
    """

    columns: tuple[str, ...] | None = None
    time_scale: float = 1.0


@dataclass(frozen=True)
class Format:
    """One file format: how to recognise it and how to read it.

    `read(path, options)` returns an `EventFile`; a file is of this format when it starts with
    `magic`, or, for a format whose first bytes do not say it alone, when `sniff(head, path)` says
    so (head: the first `HEAD_BYTES` bytes); `header(path)` the declared sensor without decoding
    events (None: not declared); `chunks(path, n)` (optional) yields `EVENT_DTYPE` arrays of at
    most about n events with bounded memory.
    """

    name: str
    description: str
    suffixes: tuple[str, ...]
    read: Callable[[Path, ReadOptions], EventFile]
    magic: bytes = b""
    sniff: Callable[[bytes, Path], bool] | None = None
    header: Callable[[Path], SensorSize | None] = field(default=lambda path: None)
    chunks: Callable[[Path, int], Iterator[np.ndarray]] | None = None

    def matches(self, head: bytes, path: Path) -> bool:
        """Whether the file whose first bytes are `head` is of this format."""
        if self.sniff is not None:
            return self.sniff(head, path)
        return bool(self.magic) and head.startswith(self.magic)


def bad(path: str | os.PathLike[str], what: str) -> DataError:
    """The one-line error of a bad file: `<path>: <what>`."""
    return DataError(f"{path}: {what}")


def _first_outside(v: np.ndarray, lo: int, hi: int) -> int:
    return int(np.flatnonzero((v < lo) | (v > hi))[0])


@numba.njit(cache=True, nogil=True)
def _fill_integers(t, x, y, p, ot, ox, oy, op):  # pragma: no cover - compiled
    """Integer columns -> out, checking as it goes. Returns (code, index): 0 ok, 1 x, 2 y out of
    0..65535, 3 p not in {-1, 0, 1}, 4 p mixes -1 and 0, 5 t beyond int64."""
    seen_neg = -1
    seen_zero = -1
    for i in range(t.shape[0]):
        xi = x[i]
        yi = y[i]
        pi = p[i]
        if xi < 0 or xi > 65535:
            return 1, i
        if yi < 0 or yi > 65535:
            return 2, i
        if pi == -1:
            if seen_neg < 0:
                seen_neg = i
            op[i] = 0
        elif pi == 0:
            if seen_zero < 0:
                seen_zero = i
            op[i] = 0
        elif pi == 1:
            op[i] = 1
        else:
            return 3, i
        ti = t[i]
        if ti > 9223372036854775807:
            return 5, i
        ot[i] = ti
        ox[i] = xi
        oy[i] = yi
    if seen_neg >= 0 and seen_zero >= 0:
        return 4, max(seen_neg, seen_zero)
    return 0, -1


def to_checked_events(path, t, x, y, p, *, time_scale: float = 1.0) -> np.ndarray:
    """Decoded columns (any numeric dtype) -> `EVENT_DTYPE`, range-checked before narrowing.

    x, y must be integers in 0..65535; p in {0, 1} (bool), or {-1, 1} (-1 -> 0); t integer
    microseconds after `time_scale` (a float t must be whole microseconds after scaling).

    Raises:
        DataError: naming the file, the field and the first offending event index.
    """
    n = len(t)
    for name, v in (("x", x), ("y", y), ("p", p), ("t", t)):
        if len(v) != n:
            raise bad(path, f"field {name} has {len(v)} values, t has {n}")
    out = np.empty(n, dtype=EVENT_DTYPE)
    cols = [np.ascontiguousarray(c) for c in (t, x, y, p)]
    if time_scale == 1.0 and all(c.dtype.kind in "uib" and c.ndim == 1 for c in cols):
        code, i = _fill_integers(*(c.view(np.uint8) if c.dtype.kind == "b" else c for c in cols),
                                 out["t"], out["x"], out["y"], out["p"])  # fmt: skip
        if code == 0:
            return out
        if code in (1, 2):
            name, v = ("x", cols[1]) if code == 1 else ("y", cols[2])
            raise bad(path, f"event {i}: {name}={v[i]} outside 0..65535 (a time column read as {name}?)")
        if code == 5:
            raise bad(path, f"event {i}: t={cols[0][i]} does not fit int64 microseconds")
        raise bad(path, f"event {i}: polarity p={cols[3][i]} is not 0/1 (or -1/1)")
    for name, v in (("x", np.asarray(x)), ("y", np.asarray(y))):
        if v.dtype.kind == "f":
            if n and not np.all(np.isfinite(v) & (v == np.floor(v))):
                i = int(np.flatnonzero(~(np.isfinite(v) & (v == np.floor(v))))[0])
                raise bad(path, f"event {i}: {name}={v[i]!r} is not a whole pixel coordinate")
        elif v.dtype.kind not in "ui":
            raise bad(path, f"field {name} has type {v.dtype}, expected integers")
        if n and (v.min() < 0 or v.max() > 65535):
            i = _first_outside(v, 0, 65535)
            raise bad(path, f"event {i}: {name}={v[i]} outside 0..65535 (a time column read as {name}?)")
        out[name] = v
    pv = np.asarray(p)
    if pv.dtype.kind == "b":
        out["p"] = pv
    elif n:
        lo, hi = pv.min(), pv.max()
        if lo == -1 and hi <= 1 and not np.any(pv == 0):
            out["p"] = pv > 0
        elif lo >= 0 and hi <= 1:
            out["p"] = pv
        else:
            i = int(np.flatnonzero((pv != 0) & (pv != 1))[0])
            raise bad(path, f"event {i}: polarity p={pv[i]} is not 0/1 (or -1/1)")
    tv = np.asarray(t)
    if time_scale != 1.0:
        tv = tv.astype(np.float64) * time_scale
        tv = np.round(tv)
    if tv.dtype.kind == "f":
        ok = np.isfinite(tv) & (tv == np.floor(tv)) & (np.abs(tv) < 2.0**62)
        if n and not np.all(ok):
            i = int(np.flatnonzero(~ok)[0])
            raise bad(path, f"event {i}: t={tv[i]!r} is not a whole number of microseconds")
    elif tv.dtype.kind == "u" and n and tv.max() > np.iinfo(np.int64).max:
        raise bad(path, f"event {int(np.argmax(tv))}: t={tv.max()} does not fit int64 microseconds")
    elif tv.dtype.kind not in "uif":
        raise bad(path, f"field t has type {tv.dtype}, expected numbers")
    out["t"] = tv
    return out


def read_exact(f, n: int, path, what: str) -> bytes:
    """`n` bytes from `f`, or DataError naming the byte offset where the file ends early."""
    at = f.tell()
    data = f.read(n)
    if len(data) != n:
        raise bad(path, f"truncated at byte {at + len(data)}: {what} needs {n} bytes, {len(data)} left")
    return data
