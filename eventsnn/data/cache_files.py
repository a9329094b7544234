"""The frame cache's files and their safety: one writer per folder, disk space, validation.

    <cache_dir>/<dataset>/<key>.lock          OS lock (flock via `filelock`): one writer per folder
    <cache_dir>/<dataset>/<key>.lock.pid      the holder's pid and host (read for the message)
    <cache_dir>/<dataset>/<key>/frames.partial.h5   rows written so far (see below)
                               /.space-reserve     room kept for HDF5 to close after a full disk

A partial file row `i` counts only when `status[i]` is DONE or SKIPPED. A row's frames and its
crc32 are written first; its status only after the frames were flushed (`commit`), so a
killed run never marks an unwritten row done. Before a partial file is resumed, every DONE
row is read back and its crc32 compared; failing rows are framed again, and a file that
cannot be opened is discarded with a message. A complete `frames.h5` is checked when it is
opened (readable, same key, no unwritten row) and every read error names the file and row.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from eventsnn.data.cache_codec import WIDTHS, filters, row_crc, width_dtype
from eventsnn.errors import DataError
from eventsnn.utils.io import free_bytes, human_bytes
from eventsnn.utils.locks import held_lock

PARTIAL, FINAL, MANIFEST, COMPLETE = "frames.partial.h5", "frames.h5", "manifest.json", "COMPLETE"
RESERVE = ".space-reserve"
TODO, DONE, SKIPPED = 0, 1, 2
RESERVE_BYTES = 4 << 20  # HDF5's dirty metadata and chunk cache fit in this, with room to spare


class DiskFullError(DataError):
    """The cache's file system is full; the partial file is kept for the next run."""


class WorkerDiedError(DataError):
    """A preprocess worker was killed (the OOM killer); the partial file is kept for the next run."""


# ---- one writer per folder -----------------------------------------------------------------------
@contextlib.contextmanager
def cache_lock(folder: Path, *, wait: bool = True, say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the OS lock of cache `folder`; wait for another holder, or raise `DataError` (`wait=False`).

    The lock file lies beside the folder (removing the folder never removes a held lock) and is
    released by the kernel when its holder dies, `kill -9` included.
    """
    owner = folder.with_name(folder.name + ".lock.pid")
    folder.parent.mkdir(parents=True, exist_ok=True)

    def busy(holder: str) -> None:
        if not wait:
            raise DataError(
                f"{folder}: another preprocess run ({holder}) is writing this cache; "
                "wait for it to finish, or run again without --no-wait to wait"
            )
        say(f"preprocess: {folder} is being written by {holder}; waiting for it to finish")
        sys.stdout.flush()  # seen at once, also in a log file

    with held_lock(folder.with_name(folder.name + ".lock"), owner, busy):
        yield


# ---- disk space -----------------------------------------------------------------------------------
class SpaceReserve:
    """A file of `nbytes` in `folder` that is deleted when the disk fills, so HDF5 can still
    flush and close its file (without it, closing on a full disk segfaults)."""

    def __init__(self, folder: Path, nbytes: int) -> None:
        self.path, self.nbytes = folder / RESERVE, int(nbytes)

    def take(self) -> None:
        """Allocate the reserve; `DiskFullError` when even that does not fit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.posix_fallocate(fd, 0, self.nbytes)
            finally:
                os.close(fd)
        except OSError as exc:
            self.release()
            if exc.errno != errno.ENOSPC:
                raise
            raise DiskFullError(
                f"{self.path.parent}: disk full ({human_bytes(free_bytes(self.path.parent))} free; "
                f"the cache needs at least {human_bytes(self.nbytes)} more to start): free some space "
                "and run again"
            ) from None

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def disk_full_error(folder: Path, done: int, total: int) -> DiskFullError:
    return DiskFullError(
        f"{folder}: disk full ({human_bytes(free_bytes(folder))} free); {done}/{total} recordings are "
        f"kept in {PARTIAL}: free some space and run again to resume"
    )


# ---- the partial file ----------------------------------------------------------------------------
FORMAT = 2  # frames.h5 layout version (attrs["format"]); 1 (no attribute): float/uint rows, lzf


def open_partial(path: Path):
    """A new, empty partial file (filled by `init_partial`: opened first, so that a failure while
    filling it still leaves the caller a handle to close after freeing the disk reserve)."""
    import h5py

    return h5py.File(path, "w", rdcc_nbytes=0)  # rows are written once: no chunk cache


def init_partial(f, key: str, labels: np.ndarray, shape: tuple[int, ...], *, checksum: bool = True) -> None:
    """Fill a new partial file: one `[N, *shape]` dataset per count width (`cache_codec`),
    labels, status, width, crc, n_events, error, content hash per row."""
    import h5py

    n = len(labels)
    f.attrs["key"], f.attrs["format"] = key, FORMAT
    rows_dataset(
        f, 1, (n, *shape), checksum=checksum
    )  # the other widths when a row needs them (less metadata to write)
    f.create_dataset("labels", data=np.asarray(labels, dtype=np.int64))
    f.create_dataset("status", data=np.zeros(n, dtype=np.int8))
    f.create_dataset("width", data=np.zeros(n, dtype=np.int8))
    f.create_dataset("crc", data=np.zeros(n, dtype=np.uint32))
    f.create_dataset("n_events", data=np.zeros(n, dtype=np.int64))
    f.create_dataset("error", shape=(n,), dtype=h5py.string_dtype())
    f.create_dataset("sha256", shape=(n,), dtype="S64")  # fixed size: no heap to damage in a crash
    f.flush()


def rows_dataset(f, width: int, shape: tuple[int, ...] | None = None, *, checksum: bool = True):
    """The `[N, T, P, H, W]` dataset of rows `width` bytes wide, created on first use."""
    name = WIDTHS[width]
    if name not in f:
        shape = tuple(shape if shape is not None else f[WIDTHS[1]].shape)
        f.create_dataset(
            name, shape=shape, dtype=width_dtype(width), chunks=(1, *shape[1:]), **filters(checksum)
        )
    return f[name]


def read_row(f, i: int) -> np.ndarray:
    """Row `i` `[T, P, H, W]` of an open cache file, in the unsigned type it was stored in.

    Raises whatever h5py raises for a damaged chunk (checksum mismatch, undecodable bytes)."""
    width = int(f["width"][i])
    if width not in WIDTHS:
        raise KeyError(f"row {i} has no stored frames (width {width})")
    return f[WIDTHS[width]][i]


def bad_rows(f, rows) -> list[int]:
    """The rows among `rows` whose stored bytes fail HDF5's checksum or their crc32."""
    crc, bad = f["crc"][:], []
    for i in rows:
        try:
            ok = row_crc(read_row(f, int(i))) == crc[i]
        except Exception:  # a damaged chunk
            ok = False
        if not ok:
            bad.append(int(i))
    return bad


def resume_partial(path: Path, key: str, shape: tuple[int, ...], say: Callable[[str], None]):
    """The partial file at `path` opened for appending with every bad DONE row reset to TODO,
    or None (after saying why) when it cannot be used and has been deleted."""
    import h5py

    try:
        f = h5py.File(path, "a", rdcc_nbytes=0)
    except Exception as exc:  # h5py raises OSError, RuntimeError, KeyError for damaged files
        return _discard(path, f"unreadable ({_first_line(exc)})", say)
    try:
        if (
            f.attrs.get("key") != key
            or f.attrs.get("format") != FORMAT
            or f[WIDTHS[1]].shape != shape
            or "crc" not in f
        ):
            f.close()
            return _discard(path, "written for other parameters or by another version", say)
        bad = bad_rows(f, np.flatnonzero(f["status"][:] == DONE))
        if bad:
            f["status"][np.asarray(bad)] = TODO
            f.flush()
            say(f"preprocess: {len(bad)} rows of {path} failed their check; framing them again")
        return f
    except Exception as exc:
        with contextlib.suppress(Exception):
            f.close()
        return _discard(path, f"damaged ({_first_line(exc)})", say)


def _discard(path: Path, why: str, say: Callable[[str], None]) -> None:
    say(f"preprocess: discarding {path}: {why}; starting over")
    path.unlink(missing_ok=True)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


# ---- the complete file ---------------------------------------------------------------------------
def read_complete(folder: Path, key: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, status, width) of the complete cache in `folder`, after checking it can be served."""
    import h5py

    path = folder / FINAL
    again = f"delete {folder} and run `eventsnn preprocess` again"
    try:
        with h5py.File(path, "r") as f:
            found_key, version = f.attrs.get("key"), f.attrs.get("format")
            if version != FORMAT:
                raise DataError(
                    f"{path}: a cache of an older format (version {version or 1}, this eventsnn reads "
                    f"{FORMAT}); {again}"
                )
            labels, status, width = f["labels"][:], f["status"][:], f["width"][:]
            rows = f[WIDTHS[1]].shape[0]
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: the cache file is unreadable ({_first_line(exc)}); {again}") from None
    if found_key != key or rows != n or len(status) != n:
        raise DataError(f"{path}: the cache file does not match its folder (key or row count); {again}")
    unwritten = np.flatnonzero(status == TODO)
    if len(unwritten):
        raise DataError(
            f"{path}: {len(unwritten)} rows were never written (first: row {int(unwritten[0])}); {again}"
        )
    return labels, status, width
