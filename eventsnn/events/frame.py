"""Events -> frames: `to_frames` counts events per (frame, polarity, y, x) into `[T, P, H, W]`.

    F[f, p, y, x] = #{k in frame f : (p_k, y_k, x_k) = (p, y, x)}

Which events form frame f depends on the mode (N events, M frames, t sorted ascending):

- `n_frames=M, split_by="count"` (spikingjelly `integrate_events_by_fixed_frames_number(...,
  'number', ...)`): d = N // M; frame f holds indices [f*d, (f+1)*d), the last frame
  [(M-1)*d, N): the remainder folds into the last frame and no event is lost.
- `n_frames=M, split_by="time"` (spikingjelly `split_by='time'`): dt = (t_{N-1} - t_0) // M;
  frame f holds t in [t_0 + f*dt, t_0 + (f+1)*dt), the last frame every t >= t_0 + (M-1)*dt.
- `time_window=w` (tonic `ToFrame(time_window=w)`): windows [t_0 + i*w, t_0 + (i+1)*w) for
  i < floor((t_{N-1} - t_0 - w) / w) + 1 (ceil with `include_incomplete`), at least one.
- `event_count=c` (tonic `ToFrame(event_count=c)`): slices [i*c, i*c + min(c, N)) for
  i < floor((N - min(c, N)) / c) + 1 (ceil with `include_incomplete`).

Each mode becomes an index plan `(starts, ends)` (frame f counts events [starts[f], ends[f])),
which the numba kernel (one pass) and the torch kernel (`bincount`) count; the numpy backend
recomputes each frame from the definitions above and is the test oracle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from eventsnn.errors import ArgumentError, DataError
from eventsnn.events._frame_numba import check_time, first_bad_numba, frame_numba, search_left
from eventsnn.events._frame_reference import first_bad_reference, frame_reference
from eventsnn.events._frame_torch import as_tensor, first_bad_torch, frame_torch

_BACKENDS = ("auto", "numba", "torch", "numpy")
_OUT_DTYPES = (np.int16, np.int32, np.int64)
_FIELDS = ("t", "x", "y", "p")


def to_frames(
    events: Any,
    sensor_size: tuple[int, int, int],
    *,
    n_frames: int | None = None,
    split_by: str = "count",
    time_window: float | None = None,
    event_count: int | None = None,
    backend: str = "auto",
    include_incomplete: bool = False,
    dtype: Any = np.int32,
    device: Any = None,
):
    """Count events into frames `[T, P, H, W]` (see the module docstring for the modes).

    Args:
        events: a numpy structured array with fields t (us), x, y, p (tonic's dtype or any
            integer dtypes; p bool or int), or a mapping field -> numpy array / torch tensor.
            Only t is optional, and only in the "count" and `event_count` modes. Never mutated.
        sensor_size: (W, H, P) as in tonic. With P == 1 every event goes to channel 0.
        n_frames: fixed number of frames M, split by `split_by` ("count" or "time";
            "number" is accepted as spikingjelly's name for "count").
        time_window: window length in t units (tonic `ToFrame(time_window=...)`).
        event_count: events per frame (tonic `ToFrame(event_count=...)`).
        backend: "auto" (numba for numpy input, torch when a field is a tensor or `device` is
            given), "numba", "torch" or "numpy" (slow reference).
        include_incomplete: tonic's flag: keep the last partial window / slice.
        dtype: output integer dtype, int32 (default), int16 (tonic's; wraps above 32767 events
            per pixel and frame) or int64.
        device: torch device for the torch backend (default: the tensors' device, or CPU).

    Returns:
        `[T, P, H, W]` counts: a numpy array (numba, numpy) or torch tensor (torch) of `dtype`.
        T = n_frames in the n_frames modes (sum of the frames == number of events). With no
        events: zeros with T = n_frames, or T = 1 for time_window / event_count (tonic also
        returns one frame, but shaped (1, P, W, H) and float).

    Differences from tonic (pinned in tests/events/test_frame.py): tonic's
    `ToFrame(n_time_bins=M)` drops the events at t >= t_0 + M*dt (at least the last event) and
    `ToFrame(n_event_bins=M)` drops the N - M*(N//M) remainder; here the n_frames modes follow
    spikingjelly and fold them into the last frame. Time arithmetic is done in int64 (float64
    for float t), so unsigned t does not wrap as in tonic when the recording is shorter than
    `time_window`. spikingjelly's "time" split fails on an empty time bin (or span < M us);
    here such frames are empty and a span shorter than M puts every event in the last frame.

    Raises:
        ArgumentError (a ValueError): bad argument values or combinations (n_frames, split_by,
            time_window, event_count, sensor_size, dtype, backend), events of the wrong kind.
        DataError: missing fields, coordinates outside the sensor, negative or unsorted t in a
            time mode.

    Example:
        Four events on a 3x2 sensor with two polarities, split into 2 frames of 2 events:

        >>> import numpy as np
        >>> ev = np.zeros(4, dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")])
        >>> ev["t"], ev["x"], ev["y"], ev["p"] = [0, 10, 20, 30], [0, 1, 1, 2], [0, 0, 1, 1], [0, 1, 1, 0]
        >>> frames = to_frames(ev, (3, 2, 2), n_frames=2)
        >>> frames.shape, int(frames.sum())
        ((2, 2, 2, 3), 4)
        >>> frames[1, 0]  # frame 1, polarity 0: the event at x=2, y=1
        array([[0, 0, 0],
               [0, 0, 1]], dtype=int32)
    """
    mode, value = _mode(n_frames, split_by, time_window, event_count)
    W, H, P = _sensor(sensor_size)
    out_dtype = np.dtype(dtype)
    if out_dtype not in [np.dtype(d) for d in _OUT_DTYPES]:
        raise ArgumentError(f"to_frames: dtype must be int16, int32 or int64, got {out_dtype}")
    if backend not in _BACKENDS:
        raise ArgumentError(f"to_frames: backend must be one of {_BACKENDS}, got {backend!r}")
    needs_t = mode in ("time", "time_window")
    fields = _fields(events, needs_t)
    is_torch = any(_is_tensor(a) for a in fields.values())
    if backend == "auto":
        backend = "torch" if is_torch or device is not None else "numba"
    if backend != "torch" and is_torch:
        fields = {k: v.detach().cpu().numpy() for k, v in fields.items()}
    n = len(fields["x"])
    sensor = (W, H, P)
    if backend == "torch":
        return _to_frames_torch(fields, sensor, mode, value, include_incomplete, out_dtype, device, n)
    if needs_t and n:
        _check_time_numpy(fields["t"])
    if backend == "numpy":
        _raise_bad(first_bad_reference(fields, sensor), fields, sensor)
        return frame_reference(fields, sensor, mode, value, include_incomplete, out_dtype)

    t = fields.get("t")
    starts, ends = _plan(mode, value, include_incomplete, n, t, _search_numpy)
    frames, bad = frame_numba(fields["x"], fields["y"], fields["p"], starts, ends, sensor, out_dtype)
    if bad < 0:  # events in no frame (tonic modes) must be inside the sensor too
        for lo, hi in _uncovered(starts, ends, n):
            bad = first_bad_numba(fields["x"], fields["y"], fields["p"], lo, hi, sensor)
            if bad >= 0:
                break
    _raise_bad(bad, fields, sensor)
    return frames


# ----------------------------------------------------------------------------- the plan


def _plan(
    mode: str, value: float, include_incomplete: bool, n: int, t, search
) -> tuple[np.ndarray, np.ndarray]:
    """Index ranges (starts, ends), int64 [M]: frame f counts events [starts[f], ends[f]).

    `search(t, bounds)` is searchsorted(side="left") on the backend's array; t0 / tN are read
    as Python scalars, so numpy and torch inputs get the same plan.
    """
    if mode in ("count", "time"):
        M = int(value)
        if n == 0:
            return np.zeros(M, np.int64), np.zeros(M, np.int64)
    elif n == 0:
        return np.zeros(1, np.int64), np.zeros(1, np.int64)
    if mode == "count":
        d = n // M
        starts = np.arange(M, dtype=np.int64) * d
        ends = starts + d
        ends[-1] = n
        return starts, ends
    if mode == "event_count":
        c = int(value)
        count = min(c, n)
        rounder = math.ceil if include_incomplete else math.floor
        m = int(rounder((n - count) / c) + 1)
        starts = np.arange(m, dtype=np.int64) * c
        return starts, np.minimum(starts + count, n)
    t0, tn = _scalar(t[0]), _scalar(t[n - 1])
    if mode == "time":
        dt = (tn - t0) // M
        lo = dt * np.arange(M, dtype=tn.dtype) + t0
        starts = search(t, lo)
        ends = search(t, lo + dt)
        ends[-1] = n
        return starts, ends
    # time_window, tonic semantics
    w = value
    rounder = np.ceil if include_incomplete else np.floor
    m = max(int(rounder((tn - t0 - w) / w) + 1), 1)
    lo = np.arange(m) * w + t0
    return search(t, lo), search(t, lo + w)


def _scalar(v) -> np.generic:
    """t[k] as an int64 / float64 numpy scalar (works for numpy and torch elements)."""
    if _is_tensor(v):
        v = v.item()
    v = np.asarray(v)
    return np.float64(v) if v.dtype.kind == "f" else np.int64(v)


def _search_numpy(t: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """searchsorted(t, bounds, "left") on t as it is (no O(N) copy of a strided or uint64 t).

    Integer t is compared with integer bounds (t >= b  <=>  t >= ceil(b)), int64 or, for
    uint64 t, uint64 (bounds are >= t[0] >= 0 here), so the comparison stays exact.
    """
    if t.dtype.kind in "iu":
        if bounds.dtype.kind == "f":
            bounds = np.clip(np.ceil(bounds), -(2.0**63), 2.0**63 - 1024)
        bounds = bounds.astype(np.uint64 if t.dtype == np.uint64 else np.int64)
    else:
        bounds = bounds.astype(np.float64)

    return search_left(t, bounds)


def _uncovered(starts: np.ndarray, ends: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Index intervals of [0, n) that no range covers."""
    if starts[0] == 0 and ends[-1] == n and (len(starts) == 1 or bool(np.all(starts[1:] == ends[:-1]))):
        return []
    gaps, pos = [], 0
    for s, e in sorted(zip(starts.tolist(), ends.tolist())):
        if s > pos:
            gaps.append((pos, s))
        pos = max(pos, e)
    if pos < n:
        gaps.append((pos, n))
    return gaps


# ----------------------------------------------------------------------------- torch path


def _to_frames_torch(fields, sensor, mode, value, include_incomplete, out_dtype, device, n):
    import torch

    dev = torch.device(device) if device is not None else None
    if dev is None:
        dev = next((a.device for a in fields.values() if _is_tensor(a)), torch.device("cpu"))
    tf = {k: as_tensor(v, dev, time=k == "t") for k, v in fields.items()}
    if mode in ("time", "time_window") and n:
        t = tf["t"]
        if t.is_floating_point():
            t = t.to(torch.float64)
        elif t.dtype != torch.int64:
            t = t.to(torch.int64)
        tf["t"] = t
        neg = bool(t[0] < 0)
        dec = torch.nonzero(t[1:] < t[:-1])
        _raise_time(
            1 if neg else (2 if dec.numel() else 0),
            0 if neg else int(dec[0, 0]) + 1 if dec.numel() else -1,
            t,
        )

    def search(t, bounds):  # t is int64 or float64 here; integer t: t >= b  <=>  t >= ceil(b)
        if not t.is_floating_point() and bounds.dtype.kind == "f":
            bounds = np.clip(np.ceil(bounds), -(2.0**63), 2.0**63 - 1024)
        b = np.ascontiguousarray(bounds, dtype=np.float64 if t.is_floating_point() else np.int64)
        return torch.searchsorted(t, torch.from_numpy(b).to(t.device)).cpu().numpy().astype(np.int64)

    bad = first_bad_torch(tf["x"], tf["y"], tf["p"], sensor)
    _raise_bad(bad, tf, sensor)
    starts, ends = _plan(mode, value, include_incomplete, n, tf.get("t"), search)
    return frame_torch(tf["x"], tf["y"], tf["p"], starts, ends, sensor, out_dtype)


# ----------------------------------------------------------------------------- checks


def _mode(n_frames, split_by, time_window, event_count) -> tuple[str, float]:
    given = [
        k
        for k, v in (("n_frames", n_frames), ("time_window", time_window), ("event_count", event_count))
        if v is not None
    ]
    if len(given) != 1:
        raise ArgumentError(
            "to_frames: give exactly one of n_frames, time_window, event_count"
            + (f" (got {', '.join(given)})" if given else " (got none)")
        )
    if n_frames is not None:
        if split_by not in ("count", "number", "time"):
            raise ArgumentError(f"to_frames: split_by must be 'count' or 'time', got {split_by!r}")
        if not _is_int(n_frames) or n_frames < 1:
            raise ArgumentError(f"to_frames: n_frames must be a positive integer, got {n_frames!r}")
        return ("time" if split_by == "time" else "count"), int(n_frames)
    if split_by != "count":
        raise ArgumentError(f"to_frames: split_by={split_by!r} applies only with n_frames")
    if time_window is not None:
        if (
            isinstance(time_window, bool)
            or not isinstance(time_window, int | float | np.number)
            or not time_window > 0
        ):
            raise ArgumentError(f"to_frames: time_window must be a positive number, got {time_window!r}")
        return "time_window", time_window
    if not _is_int(event_count) or event_count < 1:
        raise ArgumentError(f"to_frames: event_count must be a positive integer, got {event_count!r}")
    return "event_count", int(event_count)


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _sensor(sensor_size) -> tuple[int, int, int]:
    try:
        W, H, P = (int(s) for s in sensor_size)
        ok = all(_is_int(s) for s in sensor_size)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(W, H, P) < 1:
        raise ArgumentError(
            f"to_frames: sensor_size must be (W, H, P) positive integers, got {sensor_size!r}"
        )
    return W, H, P


def _is_tensor(a) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "device")


def _fields(events, needs_t: bool) -> dict[str, Any]:
    if isinstance(events, np.ndarray):
        names = tuple(events.dtype.fields or ())  # names and titles (tonic's aedat4 p is a title)
        get = events.__getitem__
    elif isinstance(events, Mapping):
        names = tuple(events)
        get = events.__getitem__
    else:
        raise ArgumentError(
            f"to_frames: events must be a structured numpy array or a mapping, got {type(events).__name__}"
        )
    required = ("t", "x", "y", "p") if needs_t else ("x", "y", "p")
    missing = [f for f in required if f not in names]
    if missing:
        raise DataError(
            f"to_frames: events lack field(s) {', '.join(missing)} (have {', '.join(names) or 'none'})"
        )
    fields = {f: get(f) for f in _FIELDS if f in names and (f != "t" or needs_t)}
    lengths = set()
    for name, a in fields.items():
        if not _is_tensor(a):
            a = fields[name] = np.asarray(a)
        if a.ndim != 1:
            raise DataError(f"to_frames: field {name} must be 1-D, got shape {tuple(a.shape)}")
        if _is_tensor(a):
            is_float, is_complex = a.is_floating_point(), a.is_complex()
        else:
            is_float, is_complex = a.dtype.kind == "f", a.dtype.kind not in "biuf"
        if (is_float and name != "t") or is_complex:
            raise DataError(f"to_frames: field {name} must be integer (or bool for p), got dtype {a.dtype}")
        lengths.add(int(a.shape[0]))
    if len(lengths) > 1:
        raise DataError(f"to_frames: fields have different lengths {sorted(lengths)}")
    return fields


def _check_time_numpy(t: np.ndarray) -> None:
    if t.dtype.kind == "u" and t.dtype.itemsize == 8:  # sorted t has its extremes at the ends
        for k in (0, len(t) - 1):
            if int(t[k]) > np.iinfo(np.int64).max:
                raise DataError(
                    f"to_frames: t[{k}] = {int(t[k])} is beyond int64 (a wrapped-around negative time?)"
                )
    code, k = check_time(t if t.dtype.kind in "iuf" else t.astype(np.int64))
    _raise_time(int(code), int(k), t)


def _raise_time(code: int, k: int, t) -> None:
    if code == 1:
        raise DataError(f"to_frames: t[{k}] = {t[k].item()} is negative (time modes need t >= 0)")
    if code == 2:
        raise DataError(
            f"to_frames: t is not sorted: t[{k}] = {t[k].item()} < t[{k - 1}] = {t[k - 1].item()} "
            "(time modes need ascending t)"
        )


def _raise_bad(k: int, fields, sensor) -> None:
    if k < 0:
        return
    W, H, P = sensor
    for name, limit in (("x", W), ("y", H), ("p", P)):
        if name == "p" and P == 1:
            continue
        v = int(fields[name][k])
        if not 0 <= v < limit:
            raise DataError(
                f"to_frames: event {k} has {name} = {v} outside the sensor (W, H, P) = {sensor} "
                f"({name} must be in [0, {limit}))"
            )
    raise DataError(f"to_frames: event {k} is outside the sensor {sensor}")  # pragma: no cover
