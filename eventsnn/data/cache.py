"""The preprocess job that fills the framed-count cache (h5py).

    datasets_cache/<dataset>/<key>/frames.partial.h5   while running (resumable)
                                  /frames.h5           counts per recording (cache_codec), labels,
                                                       status, crc32, content hash
                                  /manifest.json       parameters, files (size, mtime, sha256),
                                                       labels, splits, skipped files with reasons
                                  /COMPLETE            written last, atomically

The key and the freshness checks are in `cache_plan`; the row format in `cache_codec`; the
file safety (lock, full disk, validation before a resume and before serving) in `cache_files`;
the workers in `cache_workers`; the parent's writing and commits in `cache_writer`.
Workers (a process pool that dies with its parent, even on `kill -9`) read, frame, hash and
compress recordings; the parent alone writes the h5 file, under an OS lock per cache folder,
committing rows every few items, so an interrupted run resumes from the rows committed. A
worker killed (the OOM killer) ends the run with one line and a resumable partial file. Bad
recordings stop the job (`on_error: raise`, the partial cache is removed) or are recorded and
skipped (`on_error: skip`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable

import numpy as np

from eventsnn.data.cache_codec import CODEC, file_hash, width_dtype
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
    bad_rows,
    cache_lock,
    disk_full_error,
    init_partial,
    open_partial,
    read_complete,
    resume_partial,
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
from eventsnn.data.cache_writer import CacheWriter, PreprocessStats, committed_rows
from eventsnn.data.derive import derive_from_config
from eventsnn.data.recordings import split_indices
from eventsnn.errors import DataError
from eventsnn.utils.io import atomic_write_text, is_disk_full

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
    "PreprocessStats",
    "cache_key",
    "cache_root",
    "count_shape",
    "frame_shape",
    "framing_params",
    "plan_cache",
]



def frame_shape(framing, sensor_size: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """`[T, C, H, W]` of one item as the model sees it (the cached counts, derived)."""
    return derive_from_config(framing).shape(count_shape(framing, sensor_size))


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
        writer = CacheWriter(plan, f, stats, say, progress, 2 * row_bytes, cfg.data.on_error == "skip")
        processes = workers if workers is not None else cfg.data.preprocess_workers
        writer.run(cfg.framing, processes, max_items, on_item)
        status = f["status"][:]
        f.flush()
    except DataError as exc:
        _close(f, reserve)
        if not isinstance(exc, (DiskFullError, WorkerDiedError)):  # a bad recording: nothing half-written
            shutil.rmtree(plan.folder, ignore_errors=True)
        raise
    except BaseException as exc:
        full = disk_full_error(plan.folder, committed_rows(f), n) if is_disk_full(exc) else None
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


def _close(f, reserve: SpaceReserve) -> None:
    """Free the reserve first (HDF5 needs room to flush its caches), then flush and close."""
    reserve.release()
    if f is None:
        return
    with contextlib.suppress(Exception):
        f.flush()
    with contextlib.suppress(Exception):
        f.close()
