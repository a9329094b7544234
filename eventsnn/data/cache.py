"""The preprocess job that fills the framed-count cache (h5py).

    datasets_cache/<dataset>/<key>/frames.partial.h5   while running (resumable)
                                  /frames.h5           counts per recording (cache_codec), labels,
                                                       status, crc32, content hash
                                  /manifest.json       parameters, files (size, mtime, sha256),
                                                       labels, splits, skipped files with reasons
                                  /COMPLETE            written last, atomically

The key and the freshness checks are in `cache_plan`; the row format in `cache_codec`; the
file safety (lock, full disk, validation before a resume and before serving) in `cache_files`.
Workers (a process pool that dies with its parent, even on `kill -9`) read, frame, hash and
compress recordings; the parent alone writes the h5 file, under an OS lock per cache folder,
committing rows every few items, so an interrupted run resumes from the rows committed. A
worker killed (the OOM killer) ends the run with one line and a resumable partial file. Bad
recordings stop the job (`on_error: raise`, the partial cache is removed) or are recorded and
skipped (`on_error: skip`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eventsnn.data.cache_codec import (
    CODEC,
    as_width,
    compress_row,
    count_width,
    file_hash,
    row_crc,
    width_dtype,
)
from eventsnn.data.cache_files import (
    COMPLETE,
    DONE,
    FINAL,
    FORMAT,
    MANIFEST,
    PARTIAL,
    RESERVE_BYTES,
    SKIPPED,
    TODO,
    DiskFullError,
    SpaceReserve,
    WorkerDiedError,
    cache_lock,
    disk_full_error,
    init_partial,
    open_partial,
    read_complete,
    resume_partial,
    rows_dataset,
)
from eventsnn.data.cache_plan import (
    CODE_VERSION,
    SEEN,
    CachePlan,
    cache_key,
    cache_root,
    count_shape,
    framing_params,
    plan_cache,
    shard_plan,
    stale_rows,
)
from eventsnn.data.derive import derive_from_config
from eventsnn.data.recordings import split_indices
from eventsnn.errors import DataError
from eventsnn.utils.io import atomic_write_text, free_bytes, is_disk_full

__all__ = [  # re-exported: the cache's public names live here
    "CODE_VERSION",
    "COMPLETE",
    "DONE",
    "FINAL",
    "MANIFEST",
    "PARTIAL",
    "SKIPPED",
    "TODO",
    "CachePlan",
    "cache_key",
    "cache_root",
    "count_shape",
    "frame_shape",
    "framing_params",
    "plan_cache",
]

FLUSH_EVERY = 32
META = ("width", "n_events", "crc", "sha256")  # per-row fields beside the chunk


def frame_shape(framing, sensor_size: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """`[T, C, H, W]` of one item as the model sees it (the cached counts, derived)."""
    return derive_from_config(framing).shape(count_shape(framing, sensor_size))


# ---- workers -------------------------------------------------------------------------------------
_W: dict = {}


def _init_worker(paths, sensor, framing_cfg, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        from eventsnn.utils.process import die_with_parent

        die_with_parent(parent_pid)
    _W.update(paths=paths, sensor=sensor, framing=framing_cfg)
    import torch

    torch.set_num_threads(1)


@dataclass(frozen=True)
class Framed:
    """What a worker sends back for recording `i` (chunk None when it failed with `error`)."""

    i: int
    chunk: bytes | None = None
    mask: int = 0
    width: int = 0
    n_events: int = 0
    error: str | None = None
    decode_s: float = 0.0
    frame_s: float = 0.0
    crc: int = 0
    sha256: str = ""


def _frame_one(i: int) -> Framed:
    """Worker: frame recording `i` into counts, hash its file, compress its row."""
    from eventsnn.events.postprocess import frame_counts

    path = _W["paths"][i]
    t0 = time.perf_counter()
    try:
        counts, n_events, decode_s, frame_s = frame_counts(path, _W["sensor"], _W["framing"])
    except DataError as exc:
        msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return Framed(i, error=msg, decode_s=time.perf_counter() - t0)
    expected = count_shape(_W["framing"], _W["sensor"])
    if counts.shape != tuple(expected):  # a raw chunk of another shape would be silently wrong
        return Framed(i, error=f"{path}: frames {counts.shape}, the cache holds {tuple(expected)}")
    width = count_width(counts)
    row = as_width(counts, width)
    chunk, mask = compress_row(row)
    sha = file_hash(getattr(path, "path", path))  # a Source (window, orientation) names its file
    return Framed(i, chunk, mask, width, n_events, None, decode_s, frame_s, row_crc(row), sha)


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
    reframed: int = 0  # rows of a complete cache framed again (changed or damaged)


def _manifest(cfg, plan: CachePlan, f) -> dict:
    status, n_events, width = f["status"][:], f["n_events"][:], f["width"][:]
    errors = [e.decode() if isinstance(e, bytes) else str(e) for e in f["error"][:]]
    hashes = [h.decode() if isinstance(h, bytes) else str(h) for h in f["sha256"][:]]
    train, test = split_indices(cfg, plan.all_recordings)  # over the whole data set, also for a shard
    member = np.full(len(plan.all_recordings), "", dtype=object)
    member[train], member[test] = "train", "test"
    member = member[np.asarray(plan.rows, dtype=np.int64)]
    fixed = bool(plan.recordings) and plan.recordings[0].split is not None
    widest = int(width.max()) if len(width) and width.max() > 0 else 1
    files = []
    for i, rec in enumerate(plan.recordings):
        st = rec.path.stat()
        files.append(
            {
                "path": plan.rel(rec),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha256": hashes[i],
                "label": int(rec.label),
                "split": str(member[i]),
                "events": int(n_events[i]),
                "status": "done" if status[i] == DONE else "skipped",
            }
        )
    return {
        "format": FORMAT,
        "code_version": CODE_VERSION,
        "key": plan.key,
        "dataset": plan.dataset,
        "root": str(plan.root),
        "sensor_size": list(plan.sensor_size),
        "framing": plan.framing,
        "shape": list(plan.shape),
        "shard": list(plan.shard) if plan.shard is not None else None,
        "count_dtype": width_dtype(widest).name,
        "codec": CODEC,
        "class_names": list(plan.class_names),
        "split": {
            "kind": "fixed" if fixed else cfg.data.split,
            "train_fraction": cfg.data.train_fraction,
            "seed": cfg.data.split_seed,
        },
        "files": files,
        "skipped": [
            {"path": files[i]["path"], "reason": errors[i]} for i in np.flatnonzero(status == SKIPPED)
        ],
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
    verify: bool = False,
    shard: tuple[int, int] | None = None,
    quiet_if_fresh: bool = False,
    say: Callable[[str], None] | None = None,
) -> PreprocessStats:
    """Fill (or resume, or refresh) the cache of the configured data set; see the module docstring.

    Args:
        workers: processes (default `data.preprocess_workers`, 0 = all cores; 1 = in-process).
        max_items: stop after this many recordings this run (leaves a resumable partial cache).
        on_item: called with each recording index after it is written (tests inject failures).
        wait: when another run holds the folder's lock, wait for it (True) or raise `DataError`.
        verify: hash every recording and read every row of a complete cache; frame again what
            changed or is damaged (`eventsnn preprocess --verify`).
        shard: (I, N): frame only shard I of N into `<key>/shard-I-of-N/` (`cache_plan.shard_plan`).
        quiet_if_fresh: no "nothing to do" line (the training job checks its cache every start).
        say: where the job's lines go (default `print` when `verbose`).
    """
    if max_items is not None and max_items < 1:
        raise ValueError(f"preprocess: max_items must be >= 1, got {max_items}")
    if workers is not None and workers < 0:
        raise ValueError(f"preprocess: workers must be >= 0, got {workers}")
    if say is None:
        say = print if verbose else (lambda _msg: None)
    plan = plan_cache(cfg)
    if shard is not None:
        plan = shard_plan(plan, *shard)
    stats = PreprocessStats(plan.folder, plan.complete)
    if plan.complete and not verify:  # no lock needed to serve a fresh cache (a read-only one too)
        read_complete(plan.folder, plan.key, len(plan.recordings))  # a damaged cache is an error
        if not stale_rows(plan, say):
            return _nothing_to_do(plan, stats, (lambda _m: None) if quiet_if_fresh else say, False)
    with cache_lock(plan.folder, wait=wait, say=say):
        if plan.complete:
            read_complete(plan.folder, plan.key, len(plan.recordings))  # a damaged cache is an error
            rows = verify_rows(plan, say) if verify else stale_rows(plan, say)
            if not rows:
                return _nothing_to_do(plan, stats, say, verify)
            _reopen(plan, rows, say, verify)
            stats.reframed = len(rows)
        elif verify:
            say(f"preprocess --verify: no complete cache at {plan.folder} yet; preprocessing")
        _write(cfg, plan, stats, workers, max_items, on_item, progress, say)
    return stats


def _nothing_to_do(plan: CachePlan, stats: PreprocessStats, say, verified: bool) -> PreprocessStats:
    stats.complete, stats.nothing_to_do = True, True
    what = "every recording and row verified" if verified else "nothing to do"
    part = f"shard {plan.shard[0]}/{plan.shard[1]} " if plan.shard is not None else ""
    say(f"preprocess: cache {part}complete at {plan.folder} ({len(plan.recordings)} recordings); {what}")
    return stats


def verify_rows(plan: CachePlan, say) -> list[int]:
    """Rows of a complete cache whose recording's content hash changed or whose stored bytes fail
    their checksums (every file hashed, every row read); each is reported in one line."""
    from eventsnn.data.cache_files import bad_rows

    manifest = json.loads((plan.folder / MANIFEST).read_text())
    changed = [
        i
        for i, (rec, entry) in enumerate(zip(plan.recordings, manifest["files"], strict=True))
        if entry["status"] == "done" and file_hash(rec.path) != entry.get("sha256")
    ]
    import h5py

    with h5py.File(plan.folder / FINAL, "r") as f:
        damaged = bad_rows(f, np.flatnonzero(f["status"][:] == DONE))
    for i in changed:
        say(
            f"preprocess --verify: {plan.rel(plan.recordings[i])} changed since it was framed; "
            "framing it again"
        )
    for i in sorted(set(damaged) - set(changed)):
        say(f"preprocess --verify: row {i} ({plan.rel(plan.recordings[i])}) is damaged; framing it again")
    return sorted(set(changed) | set(damaged))


def _reopen(plan: CachePlan, rows: list[int], say, verified: bool) -> None:
    """Turn a complete cache back into a partial one with `rows` to frame again (under the lock)."""
    import h5py

    if not verified:  # --verify named each row already
        say(f"preprocess: {len(rows)} recordings changed since they were framed; framing them again")
    (plan.folder / COMPLETE).unlink(missing_ok=True)
    (plan.folder / SEEN).unlink(missing_ok=True)
    with h5py.File(plan.folder / FINAL, "a") as f:
        f["status"][np.asarray(sorted(rows))] = TODO
    os.replace(plan.folder / FINAL, plan.folder / PARTIAL)


def _write(cfg, plan, stats, workers, max_items, on_item, progress, say) -> None:
    """Under the folder's lock: open or resume the partial file, frame the rest, finish the cache."""
    row_bytes = int(np.prod(plan.shape)) * 4
    reserve = SpaceReserve(plan.folder, RESERVE_BYTES + 2 * row_bytes)
    created = not plan.folder.exists()
    try:
        reserve.take()
    except DiskFullError:
        if created:
            shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    path, n = plan.folder / PARTIAL, len(plan.recordings)
    (plan.folder / COMPLETE).unlink(missing_ok=True)  # COMPLETE beside a missing/damaged manifest
    f = None
    try:
        if path.exists():
            f = resume_partial(path, plan.key, (n, *plan.shape), say)
        if f is None:
            labels = np.array([r.label for r in plan.recordings], dtype=np.int64)
            f = open_partial(path)
            init_partial(f, plan.key, labels, plan.shape)
        _run(cfg, plan, f, stats, workers, max_items, on_item, progress, say, 2 * row_bytes)
        status = f["status"][:]
        f.flush()
    except DataError as exc:
        _close(f, reserve)
        if not isinstance(exc, (DiskFullError, WorkerDiedError)):  # a bad recording: nothing half-written
            shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    except BaseException as exc:
        full = disk_full_error(plan.folder, _committed(f), n) if is_disk_full(exc) else None
        _close(f, reserve)  # resumable: frames.partial.h5 keeps every committed row
        if full is not None:
            raise full from None
        raise
    if np.any(status == TODO):
        _close(f, reserve)
        say(
            f"preprocess: stopped with {int((status != TODO).sum())}/{n} recordings in {path}; "
            "run again to resume"
        )
        return
    manifest = _manifest(cfg, plan, f)
    _close(f, reserve)
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


def _stop_pool(pool: ProcessPoolExecutor | None) -> None:
    """End the pool without waiting on it: a killed worker can leave its queues locked."""
    if pool is None:
        return
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:  # our own workers, by their handles
        with contextlib.suppress(Exception):
            p.kill()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)


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
    pending: list[tuple[int, int]] = []  # (row, status) written but not yet committed
    meta = {name: f[name][:] for name in (*META, "status")}  # per-row fields, written per commit

    def commit() -> None:
        if not pending:
            return
        lo, hi = min(i for i, _ in pending), max(i for i, _ in pending) + 1
        for name in META:
            f[name][lo:hi] = meta[name][lo:hi]
        f.flush()  # the rows' frames and fields reach the file before their status says so
        for i, st in pending:
            meta["status"][i] = st
        f["status"][lo:hi] = meta["status"][lo:hi]
        f.flush()
        pending.clear()

    bar = tqdm(total=n, initial=done, unit="rec", disable=not progress, mininterval=1.0)
    t_start = time.perf_counter()
    pool = None
    k = 0
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
        for k, r in enumerate(results):
            _store(cfg, plan, f, meta, r, stats, pending, progress, say, min_free, n - len(todo) + k)
            if (k + 1) % FLUSH_EVERY == 0:
                commit()
            if on_item is not None:
                on_item(r.i)
            bar.update(1)
            if k % 64 == 0:
                el = max(time.perf_counter() - t_start, 1e-9)
                bar.set_postfix_str(f"{stats.events / el / 1e6:.2f} Mev/s", refresh=False)
        commit()
    except DiskFullError:
        with contextlib.suppress(Exception):
            commit()  # the rows written so far are whole
        raise
    except BrokenProcessPool:
        with contextlib.suppress(Exception):
            commit()
        kept = _committed(f)
        raise WorkerDiedError(
            f"a worker died while framing {paths[todo[min(k + 1, len(todo) - 1)]]} or a "
            f"recording after it (killed: out of memory?); {kept}/{n} recordings are kept in "
            f"{plan.folder / PARTIAL}: run again to resume (fewer --workers use less memory)"
        ) from None
    except BaseException as exc:
        if not isinstance(exc, DataError) and not is_disk_full(exc):
            with contextlib.suppress(Exception):
                commit()  # interrupted: keep what was framed
        raise
    finally:
        bar.close()
        stats.wall_s = time.perf_counter() - t_start
        _stop_pool(pool)


def _store(cfg, plan, f, meta, r: Framed, stats, pending, progress, say, min_free, written: int) -> None:
    """Write one worker result into the partial file: a row's chunk now, its fields into `meta`
    (written at the next commit), or a skipped recording's reason."""
    from tqdm import tqdm

    stats.decode_s += r.decode_s
    stats.frame_s += r.frame_s
    if r.error is not None:
        if cfg.data.on_error != "skip":
            raise DataError(r.error)
        f["error"][r.i] = r.error
        pending.append((r.i, SKIPPED))
        stats.skipped += 1
        (tqdm.write if progress else say)(f"preprocess: skipped {r.error}")
        return
    if free_bytes(plan.folder) < min_free:
        raise disk_full_error(plan.folder, written, len(plan.recordings))
    t0 = time.perf_counter()
    rows_dataset(f, r.width).id.write_direct_chunk((r.i,) + (0,) * len(plan.shape), r.chunk, r.mask)
    meta["width"][r.i], meta["n_events"][r.i], meta["crc"][r.i] = r.width, r.n_events, r.crc
    meta["sha256"][r.i] = r.sha256.encode()
    pending.append((r.i, DONE))
    stats.write_s += time.perf_counter() - t0
    stats.processed += 1
    stats.events += r.n_events
