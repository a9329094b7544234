"""One writer per folder: an OS lock with its holder named, shared by the cache and run folders.

    <lock file>        held with `flock` (filelock); the kernel releases it when its holder
                       dies, `kill -9` included
    <owner file>       "pid host" of the holder, so that whoever finds the lock busy can say who

The owner file is a courtesy: when it cannot be written (a full disk, a read-only folder) the
lock is still held, and the work under it meets, and reports, the same condition itself.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from eventsnn.utils.io import atomic_write_text


def record_lock_holder(owner: str | os.PathLike[str]) -> bool:
    """Write this process's pid and host into `owner`; False when it cannot be written."""
    try:
        atomic_write_text(owner, f"{os.getpid()} {socket.gethostname()}\n")
    except OSError:
        return False
    return True


def lock_holder(owner: str | os.PathLike[str]) -> str:
    """Who holds a lock, from the `owner` file `record_lock_holder` wrote: 'pid N [on host H]'."""
    try:
        pid, host = Path(owner).read_text().split()[:2]
    except (OSError, ValueError):
        return "a process that has not recorded its pid yet"
    return f"pid {pid}" + ("" if host == socket.gethostname() else f" on host {host}")


@contextlib.contextmanager
def held_lock(lock_path: Path, owner: Path, busy: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at `lock_path` while the body runs, naming this process in `owner`.

    When another process holds it, `busy(holder)` is called with the holder's name: it raises
    (refuse) or returns (then this call waits for the lock)."""
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        busy(lock_holder(owner))
        lock.acquire()
    try:
        record_lock_holder(owner)
        yield
    finally:
        Path(owner).unlink(missing_ok=True)
        lock.release()
