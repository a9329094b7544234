"""Event file formats: one module per format, chosen from the file's first bytes (the suffix is a
hint only where a format has no magic: N-MNIST `.bin`, `.dat` without a format line).

    detect_format(path) -> Format         read_file(path, options) -> EventFile
    declared_sensor(path) -> (W, H, P) | None (header only)
    iter_events(path, chunk_events) -> EVENT_DTYPE chunks, bounded memory (EVT2/EVT3/DAT;
                                       other formats yield the whole file once)

Every reader returns `EVENT_DTYPE` (t int64 us, x, y uint16, p uint8) with the file's values as
stored; orientation conventions of a data set (flips, polarity inversion) belong to the data set
module (`eventsnn.data.sets`), not to the format.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from eventsnn.events.formats import aedat2, aedat3, aedat4, dat, es, evt2, evt3, hdf5, mat, nbin, numpy_files
from eventsnn.events.formats._base import (
    EVENT_DTYPE,
    HEAD_BYTES,
    EventFile,
    Format,
    ReadOptions,
    bad,
    to_checked_events,
)

FORMATS: tuple[Format, ...] = (
    aedat4.FORMAT,
    aedat3.FORMAT,
    aedat2.FORMAT,
    es.FORMAT,
    hdf5.FORMAT,
    numpy_files.FORMAT_NPY,
    numpy_files.FORMAT_NPZ,
    mat.FORMAT,
    evt3.FORMAT,
    evt2.FORMAT,
    dat.FORMAT,
    nbin.FORMAT,
)
SUFFIXES: tuple[str, ...] = tuple(sorted({s for f in FORMATS for s in f.suffixes}))

__all__ = [
    "EVENT_DTYPE",
    "FORMATS",
    "SUFFIXES",
    "EventFile",
    "Format",
    "ReadOptions",
    "declared_sensor",
    "detect_format",
    "iter_events",
    "read_file",
    "to_checked_events",
]


def _existing(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise bad(p, "recording not found" if not p.exists() else "not a regular file")
    return p


def detect_format(path: str | os.PathLike[str]) -> Format:
    """The format of `path` from its first bytes (DataError when none matches)."""
    p = _existing(path)
    with open(p, "rb") as f:
        head = f.read(HEAD_BYTES)
    if not head:
        raise bad(p, "empty recording (no events)")
    for fmt in FORMATS:
        if fmt.matches(head, p):
            return fmt
    if head.startswith(b"%"):
        raise bad(p, "a Prophesee header without a readable format line (EVT 2.1 and others are not read)")
    names = ", ".join(f.name for f in FORMATS)
    hinted = [f for f in FORMATS if p.suffix.lower() in f.suffixes]
    if hinted:
        raise bad(
            p,
            f"corrupt or truncated {p.suffix} (not a {hinted[0].description} file: "
            f"first bytes {head[:12]!r})",
        )
    raise bad(p, f"not a recognised event file (first bytes {head[:12]!r}); formats read: {names}")


def read_file(path: str | os.PathLike[str], options: ReadOptions | None = None) -> EventFile:
    """Decode one file -> `EventFile(events, declared sensor or None, format name)`."""
    p = _existing(path)
    fmt = detect_format(p)
    return fmt.read(p, options or ReadOptions())


def declared_sensor(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """The (W, H, P) the file's header declares, None when it does not (or it is unreadable)."""
    try:
        p = _existing(path)
        return detect_format(p).header(p)
    except Exception:  # unreadable: reading the events reports it
        return None


def iter_events(
    path: str | os.PathLike[str], chunk_events: int = 1 << 21, options: ReadOptions | None = None
) -> Iterator[np.ndarray]:
    """EVENT_DTYPE chunks in file order; memory bounded by the chunk for EVT2, EVT3 and DAT."""
    p = _existing(path)
    fmt = detect_format(p)
    if fmt.chunks is not None:
        yield from fmt.chunks(p, chunk_events)
    else:
        yield fmt.read(p, options or ReadOptions()).events
