"""LZF compression of one HDF5 chunk, so preprocess workers compress and the parent only writes.

The cache's `frames` dataset uses h5py's lzf filter (one chunk per recording). A worker
compresses its recording's frames with `compress_chunk`; the parent stores the bytes with
`write_direct_chunk`, and h5py's own lzf filter decompresses them when the cache is read.

The LZF stream format (liblzf), which h5py's filter decodes:
    control byte c < 32          a literal run: the next c + 1 bytes are copied as they are;
    control byte c >= 32         a back reference of length L = (c >> 5) + 2, or, if c >> 5 == 7,
                                 L = next byte + 9; offset = ((c & 31) << 8 | next byte) + 1:
                                 copy L bytes from `offset` bytes back in the output.
The encoder here is a greedy hash-table matcher (3-byte hashes, offsets < 8192, matches up to
264 bytes); its bytes need not equal liblzf's, only decode to the input.
"""

from __future__ import annotations

import numba
import numpy as np

_HLOG = 14
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)  # 264
_MAX_LIT = 1 << 5  # 32


@numba.njit(cache=True, nogil=True)
def _lzf(src, dst):  # pragma: no cover - compiled
    """Compress uint8 `src` into `dst`; returns the compressed length, or 0 if it does not fit."""
    n = src.shape[0]
    cap = dst.shape[0]
    htab = np.full(1 << _HLOG, -1, np.int64)
    ip = 0
    op = 1  # dst[lit_pos] is the pending literal run's control byte
    lit_pos = 0
    lit = 0
    while ip + 2 < n:
        h = ((np.int64(src[ip]) << 16) | (np.int64(src[ip + 1]) << 8) | np.int64(src[ip + 2])) * 2654435761
        h = (h >> 8) & ((1 << _HLOG) - 1)
        ref = htab[h]
        htab[h] = ip
        off = ip - ref - 1
        if (
            ref >= 0
            and off < _MAX_OFF
            and src[ref] == src[ip]
            and src[ref + 1] == src[ip + 1]
            and src[ref + 2] == src[ip + 2]
        ):
            length = 3
            limit = min(_MAX_REF, n - ip)
            while length < limit and src[ref + length] == src[ip + length]:
                length += 1
            if op + 3 + 1 > cap:
                return 0
            if lit > 0:  # close the literal run
                dst[lit_pos] = lit - 1
            else:
                op -= 1  # no literals: drop the reserved control byte
            code = length - 2
            if code < 7:
                dst[op] = (code << 5) | (off >> 8)
                op += 1
            else:
                dst[op] = (7 << 5) | (off >> 8)
                dst[op + 1] = code - 7
                op += 2
            dst[op] = off & 0xFF
            op += 1
            ip += length
            lit_pos = op  # reserve the next literal run's control byte
            op += 1
            lit = 0
        else:
            if op + 1 > cap:
                return 0
            dst[op] = src[ip]
            op += 1
            ip += 1
            lit += 1
            if lit == _MAX_LIT:
                dst[lit_pos] = lit - 1
                lit_pos = op
                op += 1
                lit = 0
    while ip < n:
        if op + 1 > cap:
            return 0
        dst[op] = src[ip]
        op += 1
        ip += 1
        lit += 1
        if lit == _MAX_LIT and ip < n:
            dst[lit_pos] = lit - 1
            lit_pos = op
            op += 1
            lit = 0
    if lit > 0:
        dst[lit_pos] = lit - 1
    else:
        op -= 1  # the reserved control byte was never used
    return op


def compress_chunk(chunk: np.ndarray) -> tuple[bytes, int]:
    """(payload, HDF5 filter mask) of one C-contiguous chunk for `write_direct_chunk`.

    Mask 0: LZF-compressed. Mask 1 (the lzf filter skipped, as h5py itself stores a chunk that
    does not shrink): the raw bytes.
    """
    raw = np.ascontiguousarray(chunk).view(np.uint8).reshape(-1)
    if raw.size == 0:
        return b"", 1
    out = np.empty(raw.size - 1 if raw.size > 1 else 1, dtype=np.uint8)
    n = _lzf(raw, out)
    if n == 0:
        return raw.tobytes(), 1
    return out[:n].tobytes(), 0
