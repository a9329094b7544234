"""The framed-tensor cache (h5py) and the preprocess job that fills it.

    datasets_cache/<dataset>/<key>/frames.partial.h5   while running (resumable)
                                  /frames.h5           [N, T, C, H, W] frames, labels, status
                                  /manifest.json       parameters, files, sizes, labels, splits,
                                                       skipped files with reasons
                                  /COMPLETE            written last, atomically

`key` = sha256 of the framing parameters (everything in `FramingConfig` that changes the
values: n_frames, split_by, time_window, event_count, polarity_sum_channel, resize, dtype), the
sensor size, the sorted file list with sizes, modification times (ns) and labels, and
`CODE_VERSION`, cut to 16 hex digits. Workers (a process pool that dies with its parent, even
on `kill -9`) read, check, frame and post-process recordings; the parent alone writes the h5
file, under an OS lock per cache folder, committing rows every few items, so an interrupted
run resumes from the rows committed. Bad recordings stop the job (`on_error: raise`, the
partial cache is removed) or are recorded and skipped (`on_error: skip`). The file safety
(lock, full disk, validation before a resume and before serving) is in `cache_files`.
"""

from __future__ import annotations

import contextlib
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

from eventsnn.data.cache_files import (
    COMPLETE,
    DONE,
    FINAL,
    MANIFEST,
    PARTIAL,
    RESERVE_BYTES,
    SKIPPED,
    TODO,
    DiskFullError,
    SpaceReserve,
    cache_lock,
    create_partial,
    disk_full_error,
    read_complete,
    resume_partial,
    row_crc,
)
from eventsnn.data.recordings import (
    Recording,
    dataset_root,
    list_all_recordings,
    sensor_size_for,
    split_indices,
)
from eventsnn.errors import ConfigError, DataError
from eventsnn.utils.io import atomic_write_text, free_bytes, is_disk_full

__all__ = ["COMPLETE", "DONE", "FINAL", "MANIFEST", "PARTIAL", "SKIPPED", "TODO"]  # re-exported

CODE_VERSION = "eventsnn-frames-2"
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


def cache_key(dataset: str, sensor_size, framing: dict, files: list[tuple]) -> str:
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


def _file_rows(root: Path, recs) -> list[tuple[str, int, int, int, str | None]]:
    """(relative path, size, mtime in ns, label, split) of every recording (the key's file list)."""
    rows = []
    for r in recs:
        try:
            rel = str(r.path.relative_to(root))
        except ValueError:
            rel = str(r.path)
        st = r.path.stat()
        tag = r.source.tag() if r.source is not None else ""  # window, orientation, reader options
        rows.append((rel, st.st_size, st.st_mtime_ns, int(r.label), r.split, *((tag,) if tag else ())))
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


def _init_worker(paths, sensor, framing_cfg, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        from eventsnn.utils.process import die_with_parent

        die_with_parent(parent_pid)
    _W.update(paths=paths, sensor=sensor, framing=framing_cfg)
    import torch

    torch.set_num_threads(1)


def _frame_one(i: int):
    """Worker: (i, (lzf chunk, filter mask) or None, n_events, error or None, decode_s, frame_s, crc32).

    The worker also compresses its chunk (eventsnn.data.lzf), so the parent only writes bytes.
    """
    from eventsnn.data.lzf import compress_chunk
    from eventsnn.events.postprocess import frame_recording

    path = _W["paths"][i]
    t0 = time.perf_counter()
    try:
        frames, n_events, decode_s, frame_s = frame_recording(path, _W["sensor"], _W["framing"])
    except DataError as exc:
        msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return i, None, 0, msg, time.perf_counter() - t0, 0.0, 0
    frames = np.ascontiguousarray(frames, dtype=np.dtype(_W["framing"].dtype))  # the dataset's dtype
    expected = frame_shape(_W["framing"], _W["sensor"])
    if frames.shape != tuple(expected):  # a raw chunk of another shape would be silently wrong
        return i, None, 0, f"{path}: frames {frames.shape}, the cache holds {tuple(expected)}", 0.0, 0.0, 0
    return i, compress_chunk(frames), n_events, None, decode_s, frame_s, row_crc(frames)


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


def _manifest(cfg, plan: CachePlan, status, n_events, errors) -> dict:
    train, test = split_indices(cfg, plan.recordings)
    member = np.full(len(plan.recordings), "", dtype=object)
    member[train], member[test] = "train", "test"
    rows = _file_rows(plan.root, plan.recordings)
    fixed = bool(plan.recordings) and plan.recordings[0].split is not None
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
                "mtime_ns": mt,
                "label": lab,
                "split": str(member[i]),
                "events": int(n_events[i]),
                "status": "done" if status[i] == DONE else "skipped",
            }
            for i, (p, s, mt, lab, _) in enumerate(rows)
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
    wait: bool = True,
) -> PreprocessStats:
    """Fill (or resume) the cache of the configured data set; see the module docstring.

    Args:
        workers: processes (default `data.preprocess_workers`, 0 = all cores; 1 = in-process).
        max_items: stop after this many recordings this run (leaves a resumable partial cache).
        on_item: called with each recording index after it is written (tests inject failures).
        wait: when another run holds the folder's lock, wait for it (True) or raise `DataError`.
    """
    if max_items is not None and max_items < 1:
        raise ValueError(f"preprocess: max_items must be >= 1, got {max_items}")
    if workers is not None and workers < 0:
        raise ValueError(f"preprocess: workers must be >= 0, got {workers}")
    say = print if verbose else (lambda _msg: None)
    plan = plan_cache(cfg)
    stats = PreprocessStats(plan.folder, plan.complete)
    if plan.complete:
        return _nothing_to_do(plan, stats, say)
    with cache_lock(plan.folder, wait=wait, say=say):
        if plan.complete:  # finished by the run we waited for
            return _nothing_to_do(plan, stats, say)
        _write(cfg, plan, stats, workers, max_items, on_item, progress, say)
    return stats


def _nothing_to_do(plan: CachePlan, stats: PreprocessStats, say) -> PreprocessStats:
    read_complete(plan.folder, plan.key, len(plan.recordings))  # a damaged complete cache is an error
    stats.complete, stats.nothing_to_do = True, True
    say(f"preprocess: cache complete at {plan.folder} ({len(plan.recordings)} recordings); nothing to do")
    return stats


def _write(cfg, plan, stats, workers, max_items, on_item, progress, say) -> None:
    """Under the folder's lock: open or resume the partial file, frame the rest, finish the cache."""
    row_bytes = int(np.prod(plan.shape)) * np.dtype(cfg.framing.dtype).itemsize
    reserve = SpaceReserve(plan.folder, RESERVE_BYTES + 2 * row_bytes)
    created = not plan.folder.exists()
    try:
        reserve.take()
    except DiskFullError:
        if created:
            shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    path, n = plan.folder / PARTIAL, len(plan.recordings)
    f = None
    try:
        if path.exists():
            f = resume_partial(path, plan.key, (n, *plan.shape), say)
        if f is None:
            labels = np.array([r.label for r in plan.recordings], dtype=np.int64)
            f = create_partial(path, plan.key, labels, plan.shape, cfg.framing.dtype)
        _run(cfg, plan, f, stats, workers, max_items, on_item, progress, say, 2 * row_bytes)
        status = f["status"][:]
        if not np.any(status == TODO):
            f.attrs["complete"] = True
        f.flush()
    except DataError as exc:
        _close(f, reserve)
        if not isinstance(exc, DiskFullError):  # a bad recording: nothing half-written stays
            shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    except BaseException as exc:
        full = disk_full_error(plan.folder, _committed(f), n) if is_disk_full(exc) else None
        _close(f, reserve)  # resumable: frames.partial.h5 keeps every committed row
        if full is not None:
            raise full from None
        raise
    errors = [e.decode() if isinstance(e, bytes) else str(e) for e in f["error"][:]]
    n_events = f["n_events"][:]
    _close(f, reserve)
    if np.any(status == TODO):
        say(
            f"preprocess: stopped with {int((status != TODO).sum())}/{n} recordings in {path}; "
            "run again to resume"
        )
        return
    manifest = _manifest(cfg, plan, status, n_events, errors)
    try:  # the manifest first: if it cannot be written, the complete partial file is resumed
        atomic_write_text(plan.folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        os.replace(path, plan.folder / FINAL)
        atomic_write_text(plan.folder / COMPLETE, f"{plan.key}\n")
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(plan.folder, n, n) from None
        raise
    stats.complete = True
    skipped = int((status == SKIPPED).sum())
    say(f"preprocess: cache complete at {plan.folder} ({n} recordings, {skipped} skipped)")


def _committed(f) -> int:
    try:
        return int((f["status"][:] != TODO).sum()) if f is not None else 0
    except Exception:
        return 0


def _close(f, reserve: SpaceReserve) -> None:
    """Free the reserve first (HDF5 needs room to flush its caches), then flush and close."""
    reserve.release()
    if f is None:
        return
    with contextlib.suppress(Exception):
        f.flush()
    with contextlib.suppress(Exception):
        f.close()


def _run(cfg, plan, f, stats, workers, max_items, on_item, progress, say, min_free) -> None:
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
    done = n - int((status == TODO).sum())
    say(
        f"preprocess: {plan.dataset} -> {plan.folder} ({n} recordings, {done} already cached, "
        f"{workers} process{'es' if workers > 1 else ''})"
    )
    paths = [str(r.path) if r.source is None else r.source for r in plan.recordings]  # Source: window etc.
    init = (paths, plan.sensor_size, cfg.framing)
    frames_ds, events_ds, error_ds, crc_ds = f["frames"], f["n_events"], f["error"], f["crc"]
    pending: list[tuple[int, int]] = []  # (row, status) written but not yet committed

    def commit() -> None:
        f.flush()  # the rows' frames reach the file before their status says so
        for i, st in pending:
            f["status"][i] = st
        f.flush()
        pending.clear()

    bar = tqdm(total=n, initial=done, unit="rec", disable=not progress, mininterval=1.0)
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
                workers,
                mp_context=mp.get_context("fork"),
                initializer=_init_worker,
                initargs=(*init, os.getpid()),
            )
            rest = todo[1:]
            chunk = max(1, min(16, len(rest) // (workers * 8)))
            results = itertools.chain(first, pool.map(_frame_one, rest, chunksize=chunk))
        else:
            _init_worker(*init)
            results = map(_frame_one, todo)
        chunk_offset = (0,) * len(plan.shape)
        for k, (i, chunk, n_ev, err, t_dec, t_fr, crc) in enumerate(results):
            stats.decode_s += t_dec
            stats.frame_s += t_fr
            if err is not None:
                if cfg.data.on_error != "skip":
                    raise DataError(err)
                error_ds[i] = err
                pending.append((i, SKIPPED))
                stats.skipped += 1
                if progress:
                    tqdm.write(f"preprocess: skipped {err}")
                else:
                    say(f"preprocess: skipped {err}")
            else:
                if free_bytes(plan.folder) < min_free:
                    commit()
                    raise disk_full_error(plan.folder, n - len(todo) + k, n)
                t0 = time.perf_counter()
                frames_ds.id.write_direct_chunk((i, *chunk_offset), chunk[0], chunk[1])  # compressed
                events_ds[i], crc_ds[i] = n_ev, crc
                pending.append((i, DONE))
                stats.write_s += time.perf_counter() - t0
                stats.processed += 1
                stats.events += n_ev
            if (k + 1) % FLUSH_EVERY == 0:
                commit()
            if on_item is not None:
                on_item(i)
            bar.update(1)
            if k % 64 == 0:
                el = max(time.perf_counter() - t_start, 1e-9)
                bar.set_postfix_str(f"{stats.events / el / 1e6:.2f} Mev/s", refresh=False)
        commit()
    except BaseException as exc:
        if not isinstance(exc, DataError) and not is_disk_full(exc):
            with contextlib.suppress(Exception):
                commit()  # interrupted: keep what was framed
        raise
    finally:
        bar.close()
        stats.wall_s = time.perf_counter() - t_start
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
