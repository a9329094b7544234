"""Checks of an output path before a command starts its work (`--out` of predict, stream, evaluate...).

A read-only place, a file where a folder belongs, a folder where a file belongs, or a disk with
no space left is one `ConfigError` line at once, not a traceback after all the work. Nothing is
created by the checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from eventsnn.errors import ConfigError
from eventsnn.utils.io import free_bytes, human_bytes

MIN_FREE = 1 << 20  # bytes: less than this free is "no space left"


def _existing_ancestor(path: Path, option: str) -> Path:
    """The nearest folder of `path` that exists; `ConfigError` when a file stands in the way."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            return parent
    return Path(".")


def _writable_place(folder: Path, path: Path, option: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: cannot write in {folder} (read-only or no permission)")
    free = free_bytes(folder)
    if free < MIN_FREE:
        raise ConfigError(f"{option} {path}: no space left in {folder} ({human_bytes(free)} free)")


def require_writable_file(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """`path` can be written as a file: not a folder, its folder (or the nearest existing one)
    writable, with space left. Returns `path`."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name")
    folder = path.parent if path.parent.is_dir() else _existing_ancestor(path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path}: the file is read-only")
    _writable_place(folder, path, option)
    return path


def require_writable_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """`path` is, or can be made, a writable folder with space left. Returns `path`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file, not a folder")
    folder = path if path.is_dir() else _existing_ancestor(path, option)
    _writable_place(folder, path, option)
    return path
