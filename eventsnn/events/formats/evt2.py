"""Prophesee EVT 2.0 `.raw`: 32-bit little-endian words, type in bits 31..28.

CD_OFF (0x0) / CD_ON (0x1): t low 6 bits in 27..22, x in 21..11, y in 10..0; EVT_TIME_HIGH (0x8):
t bits 33..6 in 27..0; t = time_high << 6 | t_low. Other types (EXT_TRIGGER 0xA, OTHERS 0xE,
CONTINUED 0xF) carry no CD event and are skipped. Spec: docs.prophesee.ai, "EVT 2.0 Format".
Decoded in chunks (numba), so memory is bounded by the chunk and the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE
from eventsnn.events.formats._prophesee import raw_format, raw_words

CHUNK_WORDS = 1 << 20  # 4 MiB of file per chunk


@numba.njit(cache=True, nogil=True)
def _count(words):  # pragma: no cover - compiled
    n = 0
    for i in range(words.shape[0]):
        if (words[i] >> 28) <= 1:
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _decode(words, state, t, x, y, p, n):  # pragma: no cover - compiled
    """CD events of `words` into t/x/y/p from index n (room for all of them); returns the next index."""
    th = state[0]
    for i in range(words.shape[0]):
        w = np.int64(words[i])
        typ = w >> 28
        if typ <= 1:
            t[n] = th | ((w >> 22) & 0x3F)
            x[n] = (w >> 11) & 0x7FF
            y[n] = w & 0x7FF
            p[n] = typ
            n += 1
        elif typ == 8:
            th = (w & 0x0FFFFFFF) << 6
    state[0] = th
    return n


def iter_chunks(path: Path, chunk_words: int = CHUNK_WORDS) -> Iterator[np.ndarray]:
    """EVENT_DTYPE arrays of at most `chunk_words` events each, in file order."""
    state = np.zeros(1, np.int64)
    for words in raw_words(path, "<u4", chunk_words, "EVT 2.0"):
        out = np.empty(_count(words), EVENT_DTYPE)
        _decode(words, state, out["t"], out["x"], out["y"], out["p"], 0)
        yield out


def read_all(path: Path, chunk_words: int = CHUNK_WORDS) -> np.ndarray:
    """A counting pass, then decoding into the one output (peak: output + one chunk of words)."""
    out = np.empty(sum(_count(w) for w in raw_words(path, "<u4", chunk_words, "EVT 2.0")), EVENT_DTYPE)
    cols = (out["t"], out["x"], out["y"], out["p"])
    state = np.zeros(1, np.int64)
    n = 0
    for words in raw_words(path, "<u4", chunk_words, "EVT 2.0"):
        n = _decode(words, state, *cols, n)
    return out


FORMAT = raw_format("evt2", "Prophesee EVT 2.0 (.raw)", read_all, iter_chunks)
