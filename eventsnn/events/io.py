"""Event recordings on disk: `read_recording(path)` reads every format of `eventsnn.events.formats`
(AEDAT 2.0 / 3.1 / 4.0, Prophesee EVT 2.0 / EVT 3.0 / DAT, HDF5, NumPy, N-MNIST `.bin`, Event
Stream, MATLAB), chosen from the file's header; `write_aedat4` writes `.aedat4`.

Every reader returns one structured array of `EVENT_DTYPE` (fields t in microseconds, x, y, p),
in file order. A `Source` names a file plus what the file cannot say itself: the reader options
(column order of an unnamed array, time unit), a time window cut out of a longer file (DVS128
Gesture's original recordings hold several gestures) and an orientation map of the data set.
Problems raise `DataError` with one line naming the file and the reason: corrupt or truncated
file (with the byte offset), empty recording, events outside the declared sensor (the event index).
Writing `.aedat4` goes through iniVation's dv-processing (`dv.io.MonoCameraWriter`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eventsnn.errors import DataError
from eventsnn.events.formats import (
    EVENT_DTYPE,
    SUFFIXES,
    ReadOptions,
    declared_sensor,
    detect_format,
)
from eventsnn.events.formats import aedat4 as _aedat4
from eventsnn.events.orientation import apply_orientation
from eventsnn.utils.io import atomic_path
from eventsnn.utils.optional import import_optional

__all__ = [
    "EVENT_DTYPE",
    "SUFFIXES",
    "ReadOptions",
    "Source",
    "check_events",
    "declared_sensor_size",
    "read_aedat4",
    "read_events",
    "read_recording",
    "to_event_array",
    "write_aedat4",
]


@dataclass(frozen=True)
class Source:
    """A recording as a data set serves it: a file plus what the file cannot state itself.

    Attributes:
        path: the file.
        options: reader options (`ReadOptions`: column order, time unit).
        window: (t_start, t_end) in us: keep events with t_start <= t < t_end (one sample cut out
            of a longer recording), or None for the whole file.
        orientation: name of an orientation map (`eventsnn.events.orientation.ORIENTATIONS`),
            applied after reading, or None.
        item, reader: a recording that is not a file of its own (an item of a tonic data set):
            `reader(source)` returns its events (a module-level function, so sources pickle).
    """

    path: Path
    options: ReadOptions = dataclasses.field(default_factory=ReadOptions)
    window: tuple[int, int] | None = None
    orientation: str | None = None
    item: tuple | None = None
    reader: Callable[[Source], np.ndarray] | None = None

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return (
            str(self.path) if self.window is None else f"{self.path}[t={self.window[0]}..{self.window[1]}us]"
        )

    def tag(self) -> str:
        """What besides the file content changes the events read (for cache keys); '' if nothing."""
        parts = []
        if self.options != ReadOptions():
            parts.append(f"cols={self.options.columns},scale={self.options.time_scale:g}")
        if self.window is not None:
            parts.append(f"window={self.window[0]}-{self.window[1]}")
        if self.orientation:
            parts.append(f"orient={self.orientation}")
        if self.item is not None:
            parts.append(f"item={self.item}")
        return ";".join(parts)


def to_event_array(t, x, y, p) -> np.ndarray:
    """Fields -> one `EVENT_DTYPE` array (copies)."""
    ev = np.empty(len(t), dtype=EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t, x, y, p
    return ev


def read_aedat4(path: str | os.PathLike[str], *, raw: bool = False) -> np.ndarray:
    """`.aedat4` (AEDAT 4.0) -> events; the first event stream of the file.

    Args:
        raw: return tonic's array as decoded (t uint64, x, y uint16, p bool titled `on`/`p`),
            skipping the copy into `EVENT_DTYPE` (the preprocess job frames it directly).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recording not found")
    ev = _aedat4.read_raw(path)
    if len(ev) == 0:
        raise DataError(f"{path}: empty recording (no events)")
    return ev if raw else to_event_array(ev["t"], ev["x"], ev["y"], ev["p"])


def read_nmnist_bin(path: str | os.PathLike[str]) -> np.ndarray:
    """N-MNIST / N-Caltech101 `.bin` (40-bit events) -> events."""
    return read_events(path)


def read_gesture_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """tonic's DVS128 Gesture `.npy` (unnamed columns x, y, p, t in ms) -> events (t in us)."""
    return read_events(Source(Path(path), ReadOptions(("x", "y", "p", "t"), 1000.0)))


def read_events(path: str | os.PathLike[str] | Source, *, raw: bool = False) -> np.ndarray:
    """Any supported recording (format from its header) -> events. `raw` only applies to a plain
    `.aedat4` (tonic's array, no copy). A `Source` adds its options, window and orientation."""
    src = path if isinstance(path, Source) else Source(Path(path))
    if src.reader is not None:
        return src.reader(src)
    fmt = detect_format(src.path)
    if raw and not src.tag() and fmt.name == "aedat4":
        return read_aedat4(src.path, raw=True)
    ev = fmt.read(src.path, src.options).events
    if src.window is not None:
        lo, hi = np.searchsorted(ev["t"], src.window, side="left")
        ev = ev[lo:hi]
    if src.orientation:
        ev = apply_orientation(ev, src.orientation)
    return ev


def declared_sensor_size(path: str | os.PathLike[str] | Source) -> tuple[int, int, int] | None:
    """(W, H, P) a recording file declares in its header; None when the file does not say (N-MNIST
    `.bin`, NumPy, MATLAB, DSEC HDF5) or is unreadable."""
    return declared_sensor(path.path if isinstance(path, Source) else path)


def check_events(events: np.ndarray, sensor_size: tuple[int, ...], path: str | os.PathLike[str]) -> None:
    """Raise `DataError` when the recording is empty, unsorted, or leaves the sensor (W, H, P)."""
    if len(events) == 0:
        raise DataError(f"{path}: empty recording (no events)")
    W, H = int(sensor_size[0]), int(sensor_size[1])
    P = int(sensor_size[2]) if len(sensor_size) > 2 else 2
    for field, limit in (("x", W), ("y", H), ("p", P)):
        v = events[field]
        hi = v.max()
        if hi >= limit or (v.dtype.kind == "i" and v.min() < 0):
            i = int(np.flatnonzero((v >= limit) | (v < 0))[0])
            raise DataError(
                f"{path}: event field {field}={int(v[i])} outside the sensor (W, H, P)={(W, H, P)} "
                f"(event {i})"
            )
    t = events["t"]
    if len(t) > 1:
        down = t[1:] < t[:-1]
        if down.any():
            i = int(np.argmax(down)) + 1
            raise DataError(f"{path}: timestamps are not sorted (event {i}: t={int(t[i])} < {int(t[i - 1])})")


def read_recording(
    path: str | os.PathLike[str] | Source, sensor_size: tuple[int, ...] | None = None
) -> np.ndarray:
    """Read and (with `sensor_size`) check one recording -> `EVENT_DTYPE` events.

    `path` is a file (format from its header) or a `Source` (file + reader options, window,
    orientation: what a data set module hands out). The stable entry point of every job."""
    ev = read_events(path)
    if sensor_size is not None:
        check_events(ev, sensor_size, path)
    return ev


def write_aedat4(
    path: str | os.PathLike[str],
    events: np.ndarray,
    sensor_size: tuple[int, ...],
    *,
    camera_name: str = "eventsnn",
) -> Path:
    """Write events (fields t us, x, y, p; sorted by t) as one AEDAT 4.0 event stream, atomically.

    Args:
        sensor_size: (W, H[, P]); events outside it raise `DataError` before anything is written.
    """
    dv = import_optional("dv_processing", "writing .aedat4 files")

    final = Path(path)
    if final.suffix != ".aedat4":
        raise DataError(f"{final}: .aedat4 files must end in .aedat4")
    if len(events):
        check_events(events, sensor_size, final)
    if len(events) and int(events["t"][0]) < 0:
        raise DataError(f"{final}: negative timestamp {int(events['t'][0])}")
    store = dv.EventStore()
    push = store.push_back
    for t, x, y, p in zip(
        events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist(), strict=True
    ):
        push(t, x, y, bool(p))
    with atomic_path(final, suffix=".tmp.aedat4", create=False) as tmp:  # dv needs the extension
        config = dv.io.MonoCameraWriter.EventOnlyConfig(
            camera_name, (int(sensor_size[0]), int(sensor_size[1]))
        )
        writer = dv.io.MonoCameraWriter(str(tmp), config)
        writer.writeEvents(store)
        del writer  # closes and flushes the file
    return final
