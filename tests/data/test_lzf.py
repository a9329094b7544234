"""LZF chunks compressed in the preprocess workers: h5py's own lzf filter must decode them."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from eventsnn.data.lzf import compress_chunk

RNG = np.random.default_rng(0)
CHUNKS = {
    "sparse counts uint16 T10 2x128x128": RNG.poisson(0.12, (10, 2, 128, 128)).astype(np.uint16),
    "sparse float32 T16 3x64x64": RNG.poisson(0.5, (16, 3, 64, 64)).astype(np.float32),
    "all zeros": np.zeros((3, 4), np.float32),
    "incompressible noise": RNG.random((4, 5, 7)).astype(np.float32),
    "a 70-byte run (long match)": np.full((70,), 7, np.uint8),
    "33 random bits (literal run over 32)": RNG.integers(0, 2, (33,)).astype(np.uint8),
    "one byte": np.array([200], np.uint8),
    "a ramp (no 3-byte repeat)": np.arange(1000, dtype=np.int32),
}


@pytest.mark.parametrize("name", list(CHUNKS))
def test_h5py_lzf_filter_reads_worker_compressed_chunks(tmp_path, name):
    chunk = CHUNKS[name]
    payload, mask = compress_chunk(chunk)
    path = tmp_path / "frames.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(
            "frames", shape=(3, *chunk.shape), dtype=chunk.dtype, chunks=(1, *chunk.shape), compression="lzf"
        )
        ds.id.write_direct_chunk((1,) + (0,) * chunk.ndim, payload, mask)
        ds[2] = chunk  # h5py compressing itself, for the size comparison
        theirs = ds.id.get_chunk_info_by_coord((2,) + (0,) * chunk.ndim)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["frames"][1], chunk)
    if theirs.size < chunk.nbytes / 2:  # what liblzf halves, ours compresses too
        assert mask == 0
    if mask == 0:
        assert len(payload) < chunk.nbytes and len(payload) <= 1.25 * theirs.size + 8
    else:
        assert payload == chunk.tobytes()
