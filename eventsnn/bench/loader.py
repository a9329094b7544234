"""`eventsnn bench loader`: how fast, and how small, the cache serves a CIFAR10-DVS-sized item.

Items are T 10 x 2 x 128 x 128 event counts (spatially structured: 200k events around the
centre, as a recording of a moving object; counts up to ~20). The same rows are stored by
every contender, and each is read one item at a time in one process (interleaved, medians):

  * `0.1 cache (lzf uint16, torch convert)`: eventsnn 0.1's `frames.h5` (h5py's lzf filter,
    uint16) and its read, kept here as the contender: `torch.from_numpy(row).to(float32)`;
  * `cache v2 (served float)`: `CachedFramesDataset` over the preprocess job's format
    (uint8, Blosc2 lz4 + bitshuffle, Fletcher-32 checked on read), counts -> float32;
  * `cache v2 (counts, device path)`: the same rows as integer counts (what travels to a GPU);
  * `cache v2 without checksum`: the same codec without Fletcher-32 (the checksum's cost);
  * `uncompressed read (bound)`: the same uint8 rows, uncompressed h5;
  * `spikingjelly npz`: one `np_savez` file per sample as spikingjelly's frame folders, read
    with its `load_npz_frames`;
  * `tonic DiskCachedDataset`: tonic's per-sample h5 cache (lzf);
  * `frame on the fly (data.cache: none)`: read the `.aedat4` recording and frame it.

Then DataLoader passes (batch 32, worker start-up included) over the v2 cache with 0 and 2
workers: samples/s and samples/s per core. Rows carry `bytes_per_sample` on disk.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from eventsnn.bench.core import BenchReport, benchmark, time_interleaved
from eventsnn.data import cache_codec
from eventsnn.data.cache_files import DONE, init_partial, open_partial, rows_dataset
from eventsnn.data.datasets import CachedFramesDataset
from eventsnn.data.derive import Derive
from eventsnn.events.frame import to_frames
from eventsnn.events.io import to_event_array, write_aedat4
from eventsnn.events.postprocess import frame_counts

NAME = "loader"
HELP = "cache v2 vs 0.1's lzf cache, uncompressed, spikingjelly npz, tonic, on-the-fly framing"
SHAPE = (10, 2, 128, 128)  # [T, P, H, W]
EVENTS = 200_000
WORKERS = (0, 2)


def synthetic_events(seed: int, n: int = EVENTS) -> np.ndarray:
    """A CIFAR10-DVS-sized structured event array (t in us, x, y in 0..127, p in 0/1)."""
    rng = np.random.default_rng(seed)
    cx, cy = rng.normal(64, 8, 2)
    x = np.clip(rng.normal(cx, 22, n), 0, 127).astype(np.int64)
    y = np.clip(rng.normal(cy, 22, n), 0, 127).astype(np.int64)
    return to_event_array(np.sort(rng.integers(0, 1_300_000, n)), x, y, rng.integers(0, 2, n))


def counts_of(events: np.ndarray) -> np.ndarray:
    return np.asarray(to_frames(events, (SHAPE[3], SHAPE[2], SHAPE[1]), n_frames=SHAPE[0]))


def write_v2(path: Path, rows: list[np.ndarray], *, checksum: bool = True) -> Path:
    """A complete cache v2 `frames.h5` of `rows` as the preprocess job writes it (workers'
    `compress_row`, then `write_direct_chunk`)."""
    import h5py

    f = open_partial(path)
    try:
        init_partial(f, "bench", np.zeros(len(rows), np.int64), rows[0].shape, checksum=checksum)
        for i, counts in enumerate(rows):
            width = cache_codec.count_width(counts)
            chunk, mask = cache_codec.compress_row(cache_codec.as_width(counts, width), checksum)
            rows_dataset(f, width, checksum=checksum).id.write_direct_chunk((i, 0, 0, 0, 0), chunk, mask)
            f["width"][i], f["status"][i] = width, DONE
    finally:
        f.close()
    with h5py.File(path, "a") as g:
        g.attrs["format"] = 2
    return path


def write_lzf(path: Path, rows: list[np.ndarray]) -> Path:
    """eventsnn 0.1's cache: uint16 rows, one lzf chunk per recording."""
    import h5py

    with h5py.File(path, "w") as f:
        ds = f.create_dataset(
            "frames", shape=(len(rows), *SHAPE), dtype=np.uint16, chunks=(1, *SHAPE), compression="lzf"
        )
        for i, r in enumerate(rows):
            ds[i] = r
    return path


def write_plain(path: Path, rows: list[np.ndarray]) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.stack(rows).astype(np.uint8))
    return path


class _Listed(torch.utils.data.Dataset):
    """Frames held in memory (what tonic's cache is filled from)."""

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i], 0


def _bytes(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
        if Path(path).is_dir()
        else path.stat().st_size
    )


def _item_fns(tmp: Path, rows: list[np.ndarray], recordings: list[Path], n: int):
    """{contender: (fn reading every item once, bytes per sample)}."""
    import h5py
    from spikingjelly.datasets.utils import load_npz_frames, np_savez
    from tonic import DiskCachedDataset

    lzf, v2, v2_plain = write_lzf(tmp / "lzf.h5", rows), write_v2(tmp / "v2.h5", rows), tmp / "v2_nocrc.h5"
    write_v2(v2_plain, rows, checksum=False)
    plain = write_plain(tmp / "plain.h5", rows)
    npz = tmp / "npz"
    npz.mkdir()
    for i, r in enumerate(rows):  # as spikingjelly's frame folders: its integrate gives float64
        np_savez(npz / f"{i}.npz", frames=r.astype(np.float64))
    tonic_ds = DiskCachedDataset(_Listed(rows), cache_path=str(tmp / "tonic"))
    for i in range(n):
        tonic_ds[i]  # fill the cache
    idx, labels = np.arange(n), np.zeros(n, np.int64)
    served = CachedFramesDataset(v2, idx, labels, derive=Derive(), count_dtype="uint8")
    counts = CachedFramesDataset(v2, idx, labels, count_dtype="uint8")
    counts.counts = True
    nocrc = CachedFramesDataset(v2_plain, idx, labels, derive=Derive(), count_dtype="uint8")
    h_lzf, h_plain = h5py.File(lzf, "r")["frames"], h5py.File(plain, "r")["frames"]
    sensor = (SHAPE[3], SHAPE[2], SHAPE[1])

    class Framing:  # FramingConfig's framing fields
        n_frames, split_by, time_window, event_count, backend = SHAPE[0], "count", None, None, "auto"

    def each(get):
        return lambda: [get(i) for i in range(n)]

    return {
        "0.1 cache (lzf uint16, torch convert)": (
            each(lambda i: torch.from_numpy(h_lzf[i]).to(torch.float32)),
            _bytes(lzf) / n,
        ),
        "cache v2 (served float)": (each(lambda i: served[i]), _bytes(v2) / n),
        "cache v2 (counts, device path)": (each(lambda i: counts[i]), _bytes(v2) / n),
        "cache v2 without checksum": (each(lambda i: nocrc[i]), _bytes(v2_plain) / n),
        "uncompressed read (bound)": (each(lambda i: h_plain[i]), _bytes(plain) / n),
        "spikingjelly npz": (each(lambda i: load_npz_frames(npz / f"{i}.npz")), _bytes(npz) / n),
        "tonic DiskCachedDataset": (each(lambda i: tonic_ds[i]), _bytes(tmp / "tonic") / n),
        "frame on the fly (data.cache: none)": (
            each(
                lambda i: frame_counts(recordings[i % len(recordings)], sensor, Framing)[0].astype(np.float32)
            ),
            sum(p.stat().st_size for p in recordings) / len(recordings),
        ),
    }, served


def epoch_fn(dataset, workers: int, batch: int):
    """One pass over `dataset` through a DataLoader with `workers` processes; returns samples seen."""

    def run() -> int:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=False)
        return sum(len(x) for x, _ in loader)

    return run


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    n, unique, repeat = (64, 8, 3) if quick else (256, 16, 5)
    with tempfile.TemporaryDirectory(prefix="eventsnn-bench-loader-") as tmp_name:
        tmp = Path(tmp_name)
        events = [synthetic_events(k) for k in range(unique)]
        recordings = [
            write_aedat4(tmp / "rec" / f"r{k:02d}.aedat4", ev, (128, 128, 2)) for k, ev in enumerate(events)
        ]
        rows = [counts_of(events[i % unique]) for i in range(n)]
        fns, served = _item_fns(tmp, rows, recordings, n)
        case = f"item T{SHAPE[0]} {SHAPE[1]}x{SHAPE[2]}x{SHAPE[3]} n={n}"
        times = time_interleaved({k: f for k, (f, _) in fns.items()}, repeat=repeat, warmup=1)
        for key, (_, size) in fns.items():
            row = report.add(case, key, times[key])
            row["item_ms"] = row["median_s"] / n * 1e3
            row["samples_per_s_per_core"] = n / row["median_s"]
            row["bytes_per_sample"] = size
        bound = "uncompressed read (bound)"
        for key in fns:
            if key != bound:
                report.ratio(f"{key} vs {bound}", case, key, bound)
        report.ratio(
            "0.1 cache vs cache v2 (served)",
            case,
            "0.1 cache (lzf uint16, torch convert)",
            "cache v2 (served float)",
        )
        report.ratio(
            "checksum cost: v2 vs v2 without checksum",
            case,
            "cache v2 (served float)",
            "cache v2 without checksum",
        )
        lzf_bytes = fns["0.1 cache (lzf uint16, torch convert)"][1]
        report.ratios["size: cache v2 vs 0.1 lzf uint16"] = fns["cache v2 (served float)"][1] / lzf_bytes
        loader_case = f"DataLoader B=32 n={n}"
        lfns = {f"cache v2, workers={w}": epoch_fn(served, w, 32) for w in WORKERS}
        ltimes = time_interleaved(lfns, repeat=repeat, warmup=1)
        for w in WORKERS:
            row = report.add(loader_case, f"cache v2, workers={w}", ltimes[f"cache v2, workers={w}"])
            row["samples_per_s"] = n / row["median_s"]
            row["samples_per_s_per_core"] = row["samples_per_s"] / max(w, 1)
        served.close()
    report.notes.append(
        f"item rows: one process reads every item once per timing; {os.cpu_count()} cores; "
        "DataLoader rows include worker start-up (as every epoch)"
    )
    return report
