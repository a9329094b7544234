"""The preprocess job's workers: read, frame, hash and compress one recording each.

A worker returns a `Framed` (a named result, never a bare tuple); the parent alone writes the
h5 file. The pool forks from a parent that has framed the first recording itself, so every
worker inherits the loaded numba kernels; each worker dies with its parent (even on `kill -9`)
and runs torch on one thread.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import torch

from eventsnn.data.cache_codec import as_width, compress_row, count_width, file_hash, row_crc
from eventsnn.data.cache_plan import count_shape
from eventsnn.errors import DataError
from eventsnn.events.postprocess import frame_counts
from eventsnn.utils.process import die_with_parent


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs: the recordings (paths or `Source`s), sensor size, framing."""

    paths: Sequence
    sensor: tuple[int, int, int]
    framing: object  # FramingConfig


_SETUP: list[WorkerSetup] = []  # this process's setup (set by `init_worker`)


def init_worker(setup: WorkerSetup, parent_pid: int | None = None) -> None:
    """Pool initializer (and the in-process path): remember `setup`, one torch thread, and end
    with `parent_pid` when given."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    _SETUP[:] = [setup]
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


def frame_one(i: int) -> Framed:
    """Frame recording `i` into counts, hash its file, compress its row (in a worker)."""
    setup = _SETUP[0]
    path = setup.paths[i]
    t0 = time.perf_counter()
    try:
        counts, n_events, decode_s, frame_s = frame_counts(path, setup.sensor, setup.framing)
    except DataError as exc:
        msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return Framed(i, error=msg, decode_s=time.perf_counter() - t0)
    expected = count_shape(setup.framing, setup.sensor)
    if counts.shape != tuple(expected):  # a raw chunk of another shape would be silently wrong
        return Framed(i, error=f"{path}: frames {counts.shape}, the cache holds {tuple(expected)}")
    width = count_width(counts)
    row = as_width(counts, width)
    chunk, mask = compress_row(row)
    sha = file_hash(getattr(path, "path", path))  # a Source (window, orientation) names its file
    return Framed(i, chunk, mask, width, n_events, None, decode_s, frame_s, row_crc(row), sha)


@contextlib.contextmanager
def framed_results(setup: WorkerSetup, todo: list[int], workers: int) -> Iterator[Iterator[Framed]]:
    """The `Framed` results of recordings `todo`, in order, from `workers` processes (1: this
    one). On leaving, the pool is ended without waiting on it (a killed worker can leave its
    queues locked): `concurrent.futures.process.BrokenProcessPool` reaches the caller."""
    if workers <= 1:
        init_worker(setup)
        yield map(_frame_in_worker, todo)
        return
    threads = torch.get_num_threads()
    init_worker(setup)  # the first recording here: the forked workers inherit loaded kernels
    first = [frame_one(todo[0])]
    torch.set_num_threads(threads)
    pool = ProcessPoolExecutor(
        workers, mp_context=mp.get_context("fork"), initializer=init_worker, initargs=(setup, os.getpid())
    )
    try:
        rest = todo[1:]
        chunk = max(1, min(16, len(rest) // (workers * 8)))
        yield itertools.chain(first, pool.map(_frame_in_worker, rest, chunksize=chunk))
    finally:
        stop_pool(pool)


def _frame_in_worker(i: int) -> Framed:
    return frame_one(i)  # by its module name at call time (tests replace frame_one)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End `pool` without waiting on it, killing its processes by their handles."""
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.kill()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
