"""Prophesee EVT 3.0 `.raw`: 16-bit little-endian words, type in bits 15..12, decoded with state.

EVT_ADDR_Y (0x0): y = bits 10..0. EVT_ADDR_X (0x2): one event at x = bits 10..0, p = bit 11.
VECT_BASE_X (0x3): base x and p. VECT_12 (0x4) / VECT_8 (0x5): one event at base_x + i for each
set bit i of the 12 / 8 valid bits, then base_x += 12 / 8. EVT_TIME_LOW (0x6): t bits 11..0.
EVT_TIME_HIGH (0x8): t bits 23..12. Others (CONTINUED_4 0x7, EXT_TRIGGER 0xA, OTHERS 0xE,
CONTINUED_12 0xF) carry no CD event.

Time, as Prophesee's "EVT 3.0 Format" page states: the timestamp is the last EVT_TIME_LOW
concatenated with the last EVT_TIME_HIGH received before it, t = time_high << 12 | time_low; the
sensor sends a new EVT_TIME_HIGH when time low wraps past 4095 us, so a decoder adds nothing at a
time-low wrap. The 24-bit time base wraps after 16.777216 s: EVT_TIME_HIGH is monotonic, so a
smaller EVT_TIME_HIGH than the last one starts a new 2^24 us loop (counted, added to t).

Decoding is chunked (numba): a chunk of words fills an output buffer of bounded size; the state
(time, y, base x, polarity, loops) carries over, so memory is bounded for files of any size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE
from eventsnn.events.formats._prophesee import raw_format, raw_words

CHUNK_WORDS = 1 << 20  # 2 MiB of file per chunk
OUT_EVENTS = 1 << 20  # output buffer of iter_chunks


_POPCOUNT = np.array([bin(v).count("1") for v in range(4096)], dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _count(words, popcount):  # pragma: no cover - compiled
    """Number of CD events in `words` (EVT_ADDR_X words + set bits of the vectors)."""
    n = 0
    for i in range(words.shape[0]):
        w = np.int64(words[i])
        typ = w >> 12
        if typ == 0x2:
            n += 1
        elif typ == 0x4:
            n += popcount[w & 0xFFF]
        elif typ == 0x5:
            n += popcount[w & 0xFF]
    return n


@numba.njit(cache=True, nogil=True)
def _decode(words, start, state, t, x, y, p, n, popcount):  # pragma: no cover - compiled
    """Decode words[start:] into t/x/y/p from index n until the next event would not fit.
    state = [time_high, time_low, y, base_x, pol, loops]; returns (next word, next index)."""
    th = state[0]
    tl = state[1]
    yy = state[2]
    bx = state[3]
    pol = state[4]
    loops = state[5]
    cap = t.shape[0]
    i = start
    base = (loops << 24) | (th << 12)
    while i < words.shape[0]:
        w = np.int64(words[i])
        typ = w >> 12
        if typ == 0x0:
            yy = w & 0x7FF
        elif typ == 0x2:
            if n + 1 > cap:
                break
            t[n] = base | tl
            x[n] = w & 0x7FF
            y[n] = yy
            p[n] = (w >> 11) & 1
            n += 1
        elif typ == 0x3:
            bx = w & 0x7FF
            pol = (w >> 11) & 1
        elif typ == 0x4 or typ == 0x5:
            valid = w & 0xFFF if typ == 0x4 else w & 0xFF
            if n + popcount[valid] > cap:
                break
            tt = base | tl
            k = 0
            while valid:
                if valid & 1:
                    t[n] = tt
                    x[n] = bx + k
                    y[n] = yy
                    p[n] = pol
                    n += 1
                valid >>= 1
                k += 1
            bx += 12 if typ == 0x4 else 8
        elif typ == 0x6:
            tl = w & 0xFFF
        elif typ == 0x8:
            new = w & 0xFFF
            if new < th:
                loops += 1
            th = new
            base = (loops << 24) | (th << 12)
        i += 1
    state[0] = th
    state[1] = tl
    state[2] = yy
    state[3] = bx
    state[4] = pol
    state[5] = loops
    return i, n


def iter_chunks(
    path: Path, chunk_words: int = CHUNK_WORDS, out_events: int = OUT_EVENTS
) -> Iterator[np.ndarray]:
    """EVENT_DTYPE arrays of at most `out_events` events each, in file order; memory is one
    chunk of words plus one output buffer whatever the file size."""
    state = np.zeros(6, np.int64)
    buf = np.empty(max(out_events, 12), EVENT_DTYPE)
    cols = (buf["t"], buf["x"], buf["y"], buf["p"])
    for words in raw_words(path, "<u2", chunk_words, "EVT 3.0"):
        i = 0
        while i < len(words):
            i, n = _decode(words, i, state, *cols, 0, _POPCOUNT)
            if n:
                yield buf[:n].copy()


def read_all(path: Path, chunk_words: int = CHUNK_WORDS) -> np.ndarray:
    """The whole file: a counting pass, then decoding straight into the one output array (peak
    memory: the output plus one chunk of words)."""
    total = sum(_count(words, _POPCOUNT) for words in raw_words(path, "<u2", chunk_words, "EVT 3.0"))
    out = np.empty(total, EVENT_DTYPE)
    cols = (out["t"], out["x"], out["y"], out["p"])
    state = np.zeros(6, np.int64)
    n = 0
    for words in raw_words(path, "<u2", chunk_words, "EVT 3.0"):
        _, n = _decode(words, 0, state, *cols, n, _POPCOUNT)
    return out


FORMAT = raw_format("evt3", "Prophesee EVT 3.0 (.raw)", read_all,
                    lambda path, n: iter_chunks(path, out_events=n))
