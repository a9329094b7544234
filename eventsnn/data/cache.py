"""The framed-tensor cache (h5py) and the preprocess job that fills it.

    datasets_cache/<dataset>/<key>/frames.partial.h5   while running (resumable)
                                  /frames.h5           [N, T, C, H, W] frames, labels, status
                                  /manifest.json       parameters, files, sizes, labels, splits,
                                                       skipped files with reasons
                                  /COMPLETE            written last, atomically

`key` = sha256 of the framing parameters (everything in `FramingConfig` that changes the
values: n_frames, split_by, time_window, event_count, polarity_sum_channel, resize, dtype), the
sensor size, the sorted file list with sizes and labels, and `CODE_VERSION`, cut to 16 hex
digits. Workers (a process pool) read, check, frame and post-process recordings; the parent
alone writes the h5 file, flushing every few items, so an interrupted run resumes from the
items marked done. Bad recordings stop the job (`on_error: raise`, the partial cache is
removed) or are recorded and skipped (`on_error: skip`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from eventsnn.data.recordings import (
    Recording,
    dataset_root,
    list_all_recordings,
    sensor_size_for,
    split_indices,
)
from eventsnn.errors import ConfigError, DataError
from eventsnn.utils.io import atomic_write_text

CODE_VERSION = "eventsnn-frames-1"
PARTIAL, FINAL, MANIFEST, COMPLETE = "frames.partial.h5", "frames.h5", "manifest.json", "COMPLETE"
TODO, DONE, SKIPPED = 0, 1, 2
FLUSH_EVERY = 32


@dataclass(frozen=True)
class CachePlan:
    """What one preprocess run makes: the recordings, their frame shape, the cache folder."""

    dataset: str
    root: Path
    recordings: tuple[Recording, ...]
    class_names: tuple[str, ...]
    sensor_size: tuple[int, int, int]
    framing: dict
    shape: tuple[int, int, int, int]  # [T, C, H, W]
    key: str
    folder: Path

    @property
    def complete(self) -> bool:
        return (self.folder / COMPLETE).is_file() and (self.folder / FINAL).is_file()


def framing_params(framing) -> dict:
    """The FramingConfig fields that decide the frames' values (not the backend: backends agree)."""
    d = asdict(framing)
    d.pop("backend", None)
    if d.get("resize") is not None:
        d["resize"] = [int(v) for v in d["resize"]]
    return d


def frame_shape(framing, sensor_size: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """`[T, C, H, W]` of one cached item."""
    if framing.n_frames is None or framing.time_window is not None or framing.event_count is not None:
        raise ConfigError(
            "preprocess: the cache needs a fixed number of frames: set framing.n_frames and leave "
            "framing.time_window / framing.event_count null"
        )
    W, H, P = sensor_size
    C = P + (1 if framing.polarity_sum_channel else 0)
    h, w = (int(framing.resize[0]), int(framing.resize[1])) if framing.resize is not None else (H, W)
    return (int(framing.n_frames), C, h, w)


def cache_key(dataset: str, sensor_size, framing: dict, files: list[tuple[str, int, int, str | None]]) -> str:
    """16 hex digits over everything that decides the cached frames (see module docstring)."""
    blob = json.dumps(
        {
            "code": CODE_VERSION,
            "dataset": dataset,
            "sensor": list(sensor_size),
            "framing": framing,
            "files": files,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _file_rows(root: Path, recs) -> list[tuple[str, int, int, str | None]]:
    rows = []
    for r in recs:
        try:
            rel = str(r.path.relative_to(root))
        except ValueError:
            rel = str(r.path)
        rows.append((rel, r.path.stat().st_size, int(r.label), r.split))
    return rows


def cache_root(cache_dir: str | os.PathLike[str]) -> Path:
    """`data.cache_dir` as a path; `ConfigError` when it (or a folder above it) is a file."""
    root = Path(cache_dir).expanduser()
    for p in (root, *root.parents):
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"data.cache_dir={cache_dir}: {p} is a file, not a folder")
            break
    return root


def plan_cache(cfg) -> CachePlan:
    """List the recordings and work out the cache folder of the configured data set and framing."""
    recs, names = list_all_recordings(cfg)
    sensor = sensor_size_for(cfg)
    framing = framing_params(cfg.framing)
    shape = frame_shape(cfg.framing, sensor)
    root = dataset_root(cfg)
    key = cache_key(cfg.data.dataset, sensor, framing, _file_rows(root, recs))
    folder = cache_root(cfg.data.cache_dir) / cfg.data.dataset / key
    return CachePlan(cfg.data.dataset, root, tuple(recs), names, sensor, framing, shape, key, folder)


# ---- workers -------------------------------------------------------------------------------------
_W: dict = {}


def _init_worker(paths, sensor, framing_cfg) -> None:
    _W.update(paths=paths, sensor=sensor, framing=framing_cfg)
    import torch

    torch.set_num_threads(1)


def _frame_one(i: int):
    """Worker: (i, frames or None, n_events, error or None, decode_s, frame_s)."""
    from eventsnn.events.postprocess import frame_recording

    path = _W["paths"][i]
    t0 = time.perf_counter()
    try:
        frames, n_events, decode_s, frame_s = frame_recording(path, _W["sensor"], _W["framing"])
    except DataError as exc:
        msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return i, None, 0, msg, time.perf_counter() - t0, 0.0
    return i, frames, n_events, None, decode_s, frame_s


# ---- the job -------------------------------------------------------------------------------------
@dataclass
class PreprocessStats:
    """What one run did (for the CLI and the benchmark); seconds, decode/frame summed over workers."""

    folder: Path
    complete: bool
    processed: int = 0
    skipped: int = 0
    events: int = 0
    decode_s: float = 0.0
    frame_s: float = 0.0
    write_s: float = 0.0
    wall_s: float = 0.0
    nothing_to_do: bool = False


def _open_partial(plan: CachePlan, dtype: str):
    import h5py

    path = plan.folder / PARTIAL
    n = len(plan.recordings)
    if path.exists():
        try:
            f = h5py.File(path, "a")
            if f.attrs.get("key") == plan.key and f["frames"].shape == (n, *plan.shape):
                return f
            f.close()
        except Exception:  # a run killed mid-write: start over
            pass
        path.unlink()
    plan.folder.mkdir(parents=True, exist_ok=True)
    f = h5py.File(path, "w")
    f.attrs["key"] = plan.key
    f.create_dataset(
        "frames", shape=(n, *plan.shape), dtype=np.dtype(dtype), chunks=(1, *plan.shape), compression="lzf"
    )
    f.create_dataset("labels", data=np.array([r.label for r in plan.recordings], dtype=np.int64))
    f.create_dataset("status", data=np.zeros(n, dtype=np.int8))
    f.create_dataset("n_events", data=np.zeros(n, dtype=np.int64))
    f.create_dataset("error", shape=(n,), dtype=h5py.string_dtype())
    f.flush()
    return f


def _manifest(cfg, plan: CachePlan, status, n_events, errors) -> dict:
    train, test = split_indices(cfg, plan.recordings)
    member = np.full(len(plan.recordings), "", dtype=object)
    member[train], member[test] = "train", "test"
    rows = _file_rows(plan.root, plan.recordings)
    fixed = plan.recordings[0].split is not None
    return {
        "code_version": CODE_VERSION,
        "key": plan.key,
        "dataset": plan.dataset,
        "root": str(plan.root),
        "sensor_size": list(plan.sensor_size),
        "framing": plan.framing,
        "shape": list(plan.shape),
        "class_names": list(plan.class_names),
        "split": {
            "kind": "fixed" if fixed else cfg.data.split,
            "train_fraction": cfg.data.train_fraction,
            "seed": cfg.data.split_seed,
        },
        "files": [
            {
                "path": p,
                "size": s,
                "label": lab,
                "split": str(member[i]),
                "events": int(n_events[i]),
                "status": "done" if status[i] == DONE else "skipped",
            }
            for i, (p, s, lab, _) in enumerate(rows)
        ],
        "skipped": [{"path": rows[i][0], "reason": errors[i]} for i in np.flatnonzero(status == SKIPPED)],
    }


def preprocess(
    cfg,
    *,
    workers: int | None = None,
    max_items: int | None = None,
    on_item: Callable[[int], None] | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> PreprocessStats:
    """Fill (or resume) the cache of the configured data set; see the module docstring.

    Args:
        workers: processes (default `data.preprocess_workers`, 0 = all cores; 1 = in-process).
        max_items: stop after this many recordings this run (leaves a resumable partial cache).
        on_item: called with each recording index after it is written (tests inject failures).
    """
    plan = plan_cache(cfg)
    stats = PreprocessStats(plan.folder, plan.complete)
    if plan.complete:
        stats.nothing_to_do = True
        if verbose:
            print(
                f"preprocess: cache complete at {plan.folder} ({len(plan.recordings)} recordings); "
                "nothing to do"
            )
        return stats
    f = _open_partial(plan, cfg.framing.dtype)
    try:
        _run(cfg, plan, f, stats, workers, max_items, on_item, progress, verbose)
    except DataError:
        f.close()
        shutil.rmtree(plan.folder, ignore_errors=True)  # a bad recording: nothing half-written stays
        raise
    except BaseException:
        f.flush()
        f.close()  # resumable: frames.partial.h5 keeps every item marked done
        raise
    status = f["status"][:]
    if np.any(status == TODO):
        f.close()
        if verbose:
            print(
                f"preprocess: stopped with {int((status != TODO).sum())}/{len(status)} recordings in "
                f"{plan.folder / PARTIAL}; run again to resume"
            )
        return stats
    errors = [e.decode() if isinstance(e, bytes) else str(e) for e in f["error"][:]]
    n_events = f["n_events"][:]
    f.attrs["complete"] = True
    f.close()
    manifest = _manifest(cfg, plan, status, n_events, errors)
    os.replace(plan.folder / PARTIAL, plan.folder / FINAL)
    atomic_write_text(plan.folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    atomic_write_text(plan.folder / COMPLETE, f"{plan.key}\n")
    stats.complete = True
    if verbose:
        print(
            f"preprocess: cache complete at {plan.folder} ({len(status)} recordings, "
            f"{int((status == SKIPPED).sum())} skipped)"
        )
    return stats


def _run(cfg, plan, f, stats, workers, max_items, on_item, progress, verbose) -> None:
    from tqdm import tqdm

    status = f["status"][:]
    todo = [int(i) for i in np.flatnonzero(status == TODO)]
    if max_items is not None:
        todo = todo[: int(max_items)]
    n = len(plan.recordings)
    if not todo:
        return
    workers = workers if workers is not None else cfg.data.preprocess_workers
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if verbose:
        done = n - int((status == TODO).sum())
        print(
            f"preprocess: {plan.dataset} -> {plan.folder} ({n} recordings, {done} already cached, "
            f"{workers} process{'es' if workers > 1 else ''})"
        )
    paths = [str(r.path) for r in plan.recordings]
    init = (paths, plan.sensor_size, cfg.framing)
    frames_ds, status_ds, events_ds, error_ds = f["frames"], f["status"], f["n_events"], f["error"]
    bar = tqdm(
        total=n, initial=n - int((status == TODO).sum()), unit="rec", disable=not progress, mininterval=1.0
    )
    t_start = time.perf_counter()
    pool = None
    try:
        if workers > 1:
            # the first recording in the parent: the forked workers inherit its loaded numba kernels
            import torch

            threads = torch.get_num_threads()
            _init_worker(*init)
            first = [_frame_one(todo[0])]
            torch.set_num_threads(threads)
            pool = ProcessPoolExecutor(
                workers, mp_context=mp.get_context("fork"), initializer=_init_worker, initargs=init
            )
            rest = todo[1:]
            chunk = max(1, min(16, len(rest) // (workers * 8)))
            results = itertools.chain(first, pool.map(_frame_one, rest, chunksize=chunk))
        else:
            _init_worker(*init)
            results = map(_frame_one, todo)
        for k, (i, frames, n_ev, err, t_dec, t_fr) in enumerate(results):
            stats.decode_s += t_dec
            stats.frame_s += t_fr
            if err is not None:
                if cfg.data.on_error != "skip":
                    raise DataError(err)
                status_ds[i], error_ds[i] = SKIPPED, err
                stats.skipped += 1
                if verbose:
                    tqdm.write(f"preprocess: skipped {err}")
            else:
                t0 = time.perf_counter()
                frames_ds[i] = frames
                events_ds[i] = n_ev
                status_ds[i] = DONE
                stats.write_s += time.perf_counter() - t0
                stats.processed += 1
                stats.events += n_ev
            if (k + 1) % FLUSH_EVERY == 0:
                f.flush()
            if on_item is not None:
                on_item(i)
            bar.update(1)
            if k % 64 == 0:
                el = max(time.perf_counter() - t_start, 1e-9)
                bar.set_postfix_str(f"{stats.events / el / 1e6:.2f} Mev/s", refresh=False)
        f.flush()
    finally:
        bar.close()
        stats.wall_s = time.perf_counter() - t_start
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
