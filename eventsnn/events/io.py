"""Event recordings on disk: read `.aedat4` / N-MNIST `.bin` / DVS128 Gesture `.npy`, write `.aedat4`.

Every reader returns one structured array of `EVENT_DTYPE` (fields t in microseconds, x, y, p),
sorted by t as recorded. Reading goes through tonic (`tonic.io.read_aedat4`, which uses the
`aedat` package's Rust decoder, and `tonic.io.read_mnist_file`); writing `.aedat4` goes through
iniVation's dv-processing (`dv.io.MonoCameraWriter`), and tonic reads back exactly what was
written. Problems raise `DataError` with one line naming the file and the reason:
corrupt or truncated file, empty recording, events outside the declared sensor.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from eventsnn.errors import DataError
from eventsnn.utils.io import atomic_path

EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
SUFFIXES = (".aedat4", ".bin", ".npy")


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
    import tonic.io

    try:
        ev = tonic.io.read_aedat4(str(path))
    except ValueError as exc:  # np.concatenate of zero packets
        if "at least one array" in str(exc):
            raise DataError(f"{path}: empty recording (no events)") from None
        raise DataError(f"{path}: corrupt or truncated .aedat4 ({exc})") from None
    except Exception as exc:  # the Rust decoder raises RuntimeError / OSError / Exception
        reason = str(exc).strip() or type(exc).__name__
        raise DataError(f"{path}: corrupt or truncated .aedat4 ({reason})") from None
    if raw:
        return ev
    return to_event_array(ev["t"], ev["x"], ev["y"], ev["p"])


def read_nmnist_bin(path: str | os.PathLike[str]) -> np.ndarray:
    """N-MNIST / N-Caltech101 `.bin` (40-bit events, tonic's reader) -> events."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recording not found")
    size = path.stat().st_size
    if size % 5:
        raise DataError(f"{path}: corrupt or truncated .bin ({size} bytes is not a multiple of 5)")
    import tonic.datasets
    import tonic.io

    ev = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    return to_event_array(ev["t"], ev["x"], ev["y"], ev["p"])


def read_gesture_npy(path: str | os.PathLike[str]) -> np.ndarray:
    """tonic's DVS128 Gesture `.npy` (columns x, y, p, t in ms) -> events (t in us)."""
    path = Path(path)
    try:
        a = np.load(path)
    except FileNotFoundError:
        raise DataError(f"{path}: recording not found") from None
    except Exception as exc:
        raise DataError(f"{path}: corrupt or truncated .npy ({exc})") from None
    if a.ndim != 2 or a.shape[1] != 4:
        raise DataError(f"{path}: expected an [N, 4] array (x, y, p, t), got shape {a.shape}")
    return to_event_array(np.round(a[:, 3] * 1000).astype(np.int64), a[:, 0], a[:, 1], a[:, 2])


def read_events(path: str | os.PathLike[str], *, raw: bool = False) -> np.ndarray:
    """Any supported recording (by suffix) -> events. `raw` only applies to `.aedat4`."""
    suffix = Path(path).suffix.lower()
    if suffix == ".aedat4":
        return read_aedat4(path, raw=raw)
    if suffix == ".bin":
        return read_nmnist_bin(path)
    if suffix == ".npy":
        return read_gesture_npy(path)
    raise DataError(f"{path}: unsupported recording type {suffix!r} (expected one of {SUFFIXES})")


def declared_sensor_size(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """(W, H, P) a recording file declares: an `.aedat4` event stream's resolution (header only),
    N-MNIST `.bin` (34, 34, 2); None when the file does not say (or is unreadable)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bin":
        return (34, 34, 2)
    if suffix != ".aedat4":
        return None
    try:
        import aedat

        for stream in aedat.Decoder(str(path)).id_to_stream().values():
            if stream["type"] == "events" and stream.get("width"):
                return (int(stream["width"]), int(stream["height"]), 2)
    except Exception:  # unreadable: reading the events reports it
        return None
    return None


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
            bad = hi if hi >= limit else v.min()
            raise DataError(
                f"{path}: event field {field}={int(bad)} outside the sensor (W, H, P)={(W, H, P)}"
            )
    t = events["t"]
    if len(t) > 1 and np.any(t[1:] < t[:-1]):
        raise DataError(f"{path}: timestamps are not sorted")


def read_recording(path: str | os.PathLike[str], sensor_size: tuple[int, ...] | None = None) -> np.ndarray:
    """Read and (with `sensor_size`) check one recording -> `EVENT_DTYPE` events."""
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
    import dv_processing as dv

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
