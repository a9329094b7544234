"""`eventsnn bench loader`: samples/s that `CachedFramesDataset` serves through a DataLoader.

Two CIFAR10-DVS-shaped caches, written as the preprocess job writes `frames.h5` (one
lzf-compressed chunk per recording): T 10 x 2 x 128 x 128 uint16 (the full sensor) and
T 16 x 3 x 64 x 64 float32 (the direct-training shape of configs/direct/cifar10dvs.yaml).
Frames are sparse event counts (about 10% non-zero pixels), so compression is realistic.
Contenders: DataLoader with 0, 1 and 2 workers, batch 32, one pass over the cache per timing
(worker start-up included, as at every epoch), interleaved. Compare with `bench train-step`'s
images/s to see whether loading or the model limits a run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from eventsnn.bench.core import BenchReport, time_interleaved

NAME = "loader"
HELP = "CachedFramesDataset through the DataLoader with 0/1/2 workers (samples/s)"
SHAPES = (((10, 2, 128, 128), "uint16"), ((16, 3, 64, 64), "float32"))
WORKERS = (0, 1, 2)


def write_cache(path: Path, n: int, shape: tuple[int, ...], dtype: str, seed: int = 0) -> Path:
    """A `frames.h5` with `n` sparse count frames `[n, *shape]` in the preprocess job's layout."""
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(
            "frames", shape=(n, *shape), dtype=np.dtype(dtype), chunks=(1, *shape), compression="lzf"
        )
        for i in range(n):
            counts = rng.poisson(0.12, size=shape).astype(dtype)  # ~11% non-zero
            ds[i] = counts
        f.create_dataset("labels", data=rng.integers(0, 10, n))
    return path


def epoch_fn(dataset, workers: int, batch: int):
    """One pass over `dataset` through a DataLoader with `workers` processes; returns samples seen."""

    def run() -> int:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=False)
        seen = 0
        for x, _ in loader:
            seen += len(x)
        return seen

    return run


def run(quick: bool) -> BenchReport:
    from eventsnn.data.datasets import CachedFramesDataset

    report = BenchReport(NAME)
    n, batch, repeat = (96, 32, 3) if quick else (512, 32, 5)
    with tempfile.TemporaryDirectory(prefix="eventsnn-bench-loader-") as tmp:
        for shape, dtype in SHAPES:
            path = write_cache(Path(tmp) / f"frames_{'x'.join(map(str, shape))}.h5", n, shape, dtype)
            labels = np.zeros(n, dtype=np.int64)
            dataset = CachedFramesDataset(path, np.arange(n), labels)
            case = f"T{shape[0]} {shape[1]}x{shape[2]}x{shape[3]} {dtype} n={n} B={batch}"
            fns = {f"workers={w}": epoch_fn(dataset, w, batch) for w in WORKERS}
            times = time_interleaved(fns, repeat=repeat, warmup=1)
            for key in fns:
                row = report.add(case, key, times[key])
                row["samples_per_s"] = n / row["median_s"]
                row["item_mb"] = float(np.prod(shape)) * 4 / 1e6  # as served: float32
            for w in WORKERS[1:]:
                report.ratio(f"{case}: workers={w} vs 0", case, "workers=0", f"workers={w}")
            dataset.close()
    report.notes.append("each timing is one full pass, DataLoader worker start-up included (as every epoch)")
    return report
