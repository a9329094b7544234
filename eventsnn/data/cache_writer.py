"""`CacheWriter`: the parent's side of the preprocess job, writing worker results into the
partial h5 file under the folder's lock.

A row's compressed chunk is written as it arrives (`write_direct_chunk`); its per-row fields
(`META`) and its status are committed every `FLUSH_EVERY` rows, fields first and flushed, then
the status, so a row whose status says done is whole. A run ended by a full disk, Ctrl-C or a
killed worker keeps every committed row (the partial file is resumed by the next run).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eventsnn.data import cache_workers
from eventsnn.data.cache_files import (
    DONE,
    PARTIAL,
    SKIPPED,
    TODO,
    DiskFullError,
    WorkerDiedError,
    disk_full_error,
    rows_dataset,
)
from eventsnn.data.cache_plan import CachePlan
from eventsnn.errors import DataError
from eventsnn.utils.io import free_bytes, is_disk_full

FLUSH_EVERY = 32
META = ("width", "n_events", "crc", "sha256")  # per-row fields beside the chunk


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


def committed_rows(f) -> int:
    """Rows of the open file `f` whose status is no longer TODO (0 when there is none to read)."""
    try:
        return int((f["status"][:] != TODO).sum()) if f is not None else 0
    except Exception:
        return 0


@dataclass
class CacheWriter:
    """Writes the rows still `TODO` in the open partial file `f` of `plan`.

    `min_free`: bytes that must stay free before each row (the early stop on a full disk);
    `skip_errors`: `data.on_error: skip` (a bad recording is recorded, not fatal)."""

    plan: CachePlan
    f: object  # h5py.File, opened for writing
    stats: PreprocessStats
    say: Callable[[str], None]
    progress: bool
    min_free: int
    skip_errors: bool
    _meta: dict = field(init=False)
    _pending: list[tuple[int, int]] = field(init=False, default_factory=list)  # (row, status)

    def __post_init__(self) -> None:
        self._meta = {name: self.f[name][:] for name in (*META, "status")}

    def run(
        self, framing, workers: int, max_items: int | None, on_item: Callable[[int], None] | None
    ) -> None:
        """Frame and write the TODO rows (the first `max_items` of them) with `workers` processes."""
        plan, n = self.plan, len(self.plan.recordings)
        status = self.f["status"][:]
        todo = [int(i) for i in np.flatnonzero(status == TODO)][:max_items]
        if not todo:
            return
        workers = min(workers or os.cpu_count() or 1, len(todo))
        done = n - int((status == TODO).sum())
        self.say(
            f"preprocess: {plan.dataset} -> {plan.folder} ({n} recordings, {done} already cached, "
            f"{workers} process{'es' if workers > 1 else ''})"
        )
        paths = [str(r.path) if r.source is None else r.source for r in plan.recordings]  # a Source: window
        setup = cache_workers.WorkerSetup(paths, plan.sensor_size, framing)
        bar = tqdm(total=n, initial=done, unit="rec", disable=not self.progress, mininterval=1.0)
        t_start, k = time.perf_counter(), 0
        try:
            with cache_workers.framed_results(setup, todo, workers) as results:
                for k, r in enumerate(results):
                    self.store(r, written=done + k)
                    if (k + 1) % FLUSH_EVERY == 0:
                        self.commit()
                    if on_item is not None:
                        on_item(r.i)
                    bar.update(1)
                    if k % 64 == 0:
                        rate = self.stats.events / max(time.perf_counter() - t_start, 1e-9) / 1e6
                        bar.set_postfix_str(f"{rate:.2f} Mev/s", refresh=False)
            self.commit()
        except DiskFullError:
            with contextlib.suppress(Exception):
                self.commit()  # the rows written so far are whole
            raise
        except BrokenProcessPool:
            with contextlib.suppress(Exception):
                self.commit()
            raise WorkerDiedError(
                f"a worker died while framing {paths[todo[min(k + 1, len(todo) - 1)]]} or a "
                f"recording after it (killed: out of memory?); {committed_rows(self.f)}/{n} recordings are "
                f"kept in {plan.folder / PARTIAL}: run again to resume (fewer --workers use less memory)"
            ) from None
        except BaseException as exc:
            if not isinstance(exc, DataError) and not is_disk_full(exc):
                with contextlib.suppress(Exception):
                    self.commit()  # interrupted: keep what was framed
            raise
        finally:
            bar.close()
            self.stats.wall_s = time.perf_counter() - t_start

    def store(self, r: cache_workers.Framed, written: int) -> None:
        """One worker result: a row's chunk now and its fields at the next commit, or a skipped
        recording's reason. `written`: rows in the file before this one (for the disk-full line)."""
        stats, f = self.stats, self.f
        stats.decode_s += r.decode_s
        stats.frame_s += r.frame_s
        if r.error is not None:
            if not self.skip_errors:
                raise DataError(r.error)
            f["error"][r.i] = r.error
            self._pending.append((r.i, SKIPPED))
            stats.skipped += 1
            (tqdm.write if self.progress else self.say)(f"preprocess: skipped {r.error}")
            return
        if free_bytes(self.plan.folder) < self.min_free:
            raise disk_full_error(self.plan.folder, written, len(self.plan.recordings))
        t0 = time.perf_counter()
        rows_dataset(f, r.width).id.write_direct_chunk((r.i,) + (0,) * len(self.plan.shape), r.chunk, r.mask)
        meta = self._meta
        meta["width"][r.i], meta["n_events"][r.i], meta["crc"][r.i] = r.width, r.n_events, r.crc
        meta["sha256"][r.i] = r.sha256.encode()
        self._pending.append((r.i, DONE))
        stats.write_s += time.perf_counter() - t0
        stats.processed += 1
        stats.events += r.n_events

    def commit(self) -> None:
        """Write the pending rows' fields, flush, then their status, flush."""
        if not self._pending:
            return
        f, meta = self.f, self._meta
        lo, hi = min(i for i, _ in self._pending), max(i for i, _ in self._pending) + 1
        for name in META:
            f[name][lo:hi] = meta[name][lo:hi]
        f.flush()  # the rows' frames and fields reach the file before their status says so
        for i, st in self._pending:
            meta["status"][i] = st
        f["status"][lo:hi] = meta["status"][lo:hi]
        f.flush()
        self._pending.clear()
