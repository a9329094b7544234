"""How the cache stores one recording's counts: the smallest unsigned type, Blosc2, a checksum.

    counts [T, P, H, W]  ->  uint8 | uint16 | uint32 (the smallest that holds the row's maximum;
                             lossless)  ->  one HDF5 chunk per recording, filters:
                             Blosc2 (lz4, bitshuffle; hdf5plugin) then Fletcher-32 (HDF5's own)

The Fletcher-32 checksum covers the compressed bytes and HDF5 checks it on every read, so a
flipped bit is an error, never a silently different row (its cost is part of `bench loader`'s
item time). lz4 + bitshuffle was chosen by measurement (`bench loader`, issue 21): on sparse
count frames it decodes fastest of lz4/zstd/blosclz x shuffle/bitshuffle, at under half
LZF's size. Workers compress their own row (`compress_row`: the same filters, run by HDF5 in
an in-memory file), so the parent only writes bytes (`write_direct_chunk`).

Rows of each width live in their own dataset (`frames_u8`, `frames_u16`, `frames_u32`, the same
`[N, T, P, H, W]` shape; HDF5 allocates only the chunks written); `width[i]` says which holds
row i. A data set is served in the widest type any of its rows needed.
"""

from __future__ import annotations

import hashlib
import os
import zlib

import hdf5plugin  # registers the Blosc2 filter with HDF5: every reader of the cache needs it
import numpy as np

WIDTHS = {1: "frames_u8", 2: "frames_u16", 4: "frames_u32"}
_TYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32}
CODEC = "blosc2-lz4-bitshuffle+fletcher32"
HASH = "sha256"


def filters(checksum: bool = True) -> dict:
    """h5py `create_dataset` keywords of the cache's filter pipeline (`checksum=False`: without
    Fletcher-32, only for `bench loader` to measure its cost)."""
    blosc = hdf5plugin.Blosc2(cname="lz4", clevel=5, filters=hdf5plugin.Blosc2.BITSHUFFLE)
    return {**blosc, "fletcher32": checksum}


def count_width(counts: np.ndarray) -> int:
    """Bytes per count of the smallest unsigned type that holds every value of `counts` (>= 0)."""
    top = int(counts.max()) if counts.size else 0
    if int(counts.min() if counts.size else 0) < 0:
        raise ValueError("count_width: counts must be non-negative")
    for width, t in _TYPES.items():
        if top <= np.iinfo(t).max:
            return width
    raise ValueError(f"count_width: a count of {top} does not fit in uint32")


def as_width(counts: np.ndarray, width: int) -> np.ndarray:
    """`counts` in the unsigned type of `width` bytes (C order)."""
    return np.ascontiguousarray(counts, dtype=_TYPES[width])


def width_dtype(width: int) -> np.dtype:
    return np.dtype(_TYPES[width])


def compress_row(row: np.ndarray, checksum: bool = True) -> tuple[bytes, int]:
    """(chunk bytes, filter mask) of one row `[T, P, H, W]` as the cache's dataset stores it."""
    import h5py

    shape = (1, *row.shape)
    with h5py.File(f"row-{os.getpid()}", "w", driver="core", backing_store=False) as f:
        ds = f.create_dataset("x", shape=shape, dtype=row.dtype, chunks=shape, **filters(checksum))
        ds[0] = row
        mask, raw = ds.id.read_direct_chunk((0,) * len(shape))
    return bytes(raw), int(mask)


def row_crc(frames: np.ndarray) -> int:
    """crc32 of one row's counts (C order, as stored), kept beside the row for `--verify`."""
    return zlib.crc32(np.ascontiguousarray(frames).view(np.uint8).reshape(-1)) & 0xFFFFFFFF


def file_hash(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file's bytes: the content a cached row was framed from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
