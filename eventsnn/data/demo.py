"""The embedded demo data set: scikit-learn's 1,797 real 8x8 digits recorded by the DVS emulator.

One `.aedat4` per image (dv-processing writer) in the CIFAR10-DVS folder layout

    <root>/<class>/<class>_<index>.aedat4     class folders '0'..'9', index zero-padded (4 digits)
    <root>/MANIFEST.json                      written last: parameters, seed, counts

    <root>/DEMO_FILES.txt                     written first: every file demo-data writes here

so the preprocess job reads it through the same code path as CIFAR10-DVS. A folder without a
matching manifest (partial or other parameters) is regenerated: only the files listed in
`DEMO_FILES.txt` are replaced, any other file is kept, and a non-empty folder demo-data did not
write is refused (`eventsnn.data.demo_files`). Deterministic for a seed: the sensor's threshold
mismatch comes from `seed`, each recording's noise from `(seed, index)`.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from eventsnn.data.demo_files import MANIFEST, MARKER, prepare_folder, read_marker, write_marker
from eventsnn.events.emulator import EmulatorParams, emulate_recording
from eventsnn.events.io import write_aedat4
from eventsnn.utils.io import atomic_write_text

__all__ = ["MANIFEST", "MARKER", "demo_data_complete", "ensure_demo_data", "recording_name"]

FORMAT_VERSION = 1


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images / 16.0, d.target.astype(np.int64)  # [N, 8, 8] in [0, 1], [N]


def recording_name(label: int, index_in_class: int) -> str:
    return f"{label}/{label}_{index_in_class:04d}.aedat4"


def _write_chunk(args) -> int:
    root, params, seed, jobs = args
    images, _ = _digits()
    n = 0
    for index, label, k in jobs:
        ev = emulate_recording(images[index], params, sensor_seed=seed, noise_seed=(seed, index))
        write_aedat4(
            Path(root) / recording_name(label, k), ev, params.sensor_size, camera_name="eventsnn-emulator"
        )
        n += len(ev)
    return n


def _expected_manifest(params: EmulatorParams, seed: int, n: int) -> dict:
    return {
        "format": FORMAT_VERSION,
        "source": "sklearn.datasets.load_digits",
        "seed": int(seed),
        "params": asdict(params),
        "recordings": n,
    }


def demo_data_complete(root: str | os.PathLike[str], *, size: int = 64, seed: int = 0) -> bool:
    """True when `root` holds a complete demo set made with these parameters."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return False
    try:
        found = json.loads(path.read_text())
    except ValueError:
        return False
    want = _expected_manifest(replace(EmulatorParams(), size=size), seed, found.get("recordings", -1))
    if any(found.get(k) != v for k, v in want.items()):
        return False
    if (Path(root) / MARKER).is_file():  # the listed recordings, whatever else sits beside them
        listed = [rel for rel in read_marker(Path(root)) if rel.endswith(".aedat4")]
        return len(listed) == found["recordings"] and all((Path(root) / rel).is_file() for rel in listed)
    return sum(1 for _ in Path(root).glob("*/*.aedat4")) == found["recordings"]


def ensure_demo_data(
    root: str | os.PathLike[str] = "datasets/digits_dvs",
    *,
    size: int = 64,
    seed: int = 0,
    force: bool = False,
    workers: int = 0,
    limit: int | None = None,
    verbose: bool = True,
) -> Path:
    """Write the demo set under `root` unless it is already complete; return `root`.

    Args:
        size: sensor side (the digits are upscaled to it).
        workers: processes (0: all cores).
        limit: only the first `limit` images (tests).
    """
    root = Path(root)
    params = replace(EmulatorParams(), size=size)
    images, labels = _digits()
    n = len(images) if limit is None else min(int(limit), len(images))
    if not force and demo_data_complete(root, size=size, seed=seed):
        found = json.loads((root / MANIFEST).read_text())["recordings"]
        if found == n:
            if verbose:
                print(f"demo-data: {root} is complete ({n} recordings); nothing to do (--force rewrites it)")
            return root
    per_class = np.zeros(10, dtype=np.int64)
    jobs = []
    for i in range(n):
        lab = int(labels[i])
        jobs.append((i, lab, int(per_class[lab])))
        per_class[lab] += 1
    planned = [recording_name(lab, k) for _, lab, k in jobs]
    kept = prepare_folder(root, planned)  # refuses a folder demo-data did not write; deletes only its own
    if kept and verbose:
        shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
        print(f"demo-data: keeping {len(kept)} files demo-data did not write under {root}: {shown}")
    workers = workers or os.cpu_count() or 1
    chunks = [jobs[k :: max(workers * 4, 1)] for k in range(max(workers * 4, 1))]
    tasks = [(str(root), params, seed, c) for c in chunks if c]
    if verbose:
        print(f"demo-data: recording {n} digits with the DVS emulator into {root} ({workers} processes)")
    if workers == 1:
        events = sum(_write_chunk(t) for t in tasks)
    else:
        with ProcessPoolExecutor(workers) as pool:
            events = sum(pool.map(_write_chunk, tasks))
    manifest = _expected_manifest(params, seed, n)
    manifest.update(events=int(events), per_class=per_class.tolist(), sensor_size=list(params.sensor_size))
    write_marker(root, planned)
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    if verbose:
        print(f"demo-data: wrote {n} recordings, {events} events ({events / max(n, 1):.0f} per recording)")
    return root
