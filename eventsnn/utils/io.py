"""Atomic writes: write to a temporary file in the same folder, then rename.

A crash or Ctrl-C never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".tmp", create: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    `suffix` ends the temporary name (some writers check the extension); `create=False`
    yields a free name without a file, for writers that insist on creating it themselves.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    if create:
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; use the usual file mode
    else:
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def free_bytes(folder: str | os.PathLike[str]) -> int:
    """Bytes free for this user on the file system that holds `folder`."""
    return shutil.disk_usage(folder).free


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB"):
        if abs(n) < 1024:
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or an exception it was raised from) is ENOSPC: an OSError's errno, or the
    text h5py / torch put into their own exceptions."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if getattr(seen, "errno", None) == errno.ENOSPC or "errno = 28" in text:
            return True
        if "No space left on device" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
